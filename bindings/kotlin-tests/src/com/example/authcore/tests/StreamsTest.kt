package com.example.authcore.tests

import com.example.authcore.Added
import com.example.authcore.Authenticator
import com.example.authcore.AuthenticatorException
import com.example.authcore.ClientException
import com.example.authcore.SignInFlow
import com.example.authcore.SignInState
import com.example.authcore.core.ApprovalContext
import com.example.authcore.core.ApprovalKind
import com.example.authcore.core.ApprovalRequest
import com.example.authcore.core.EnrollmentStatus
import com.example.authcore.core.MethodKind
import com.example.authcore.core.NumberPrompt
import com.example.authcore.core.SecondFactor
import com.example.authcore.streams.ApprovalPolling
import com.example.authcore.streams.approvalRequests
import com.example.authcore.streams.stateFlow
import java.time.Instant
import java.util.Collections
import java.util.concurrent.atomic.AtomicInteger
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Assert.assertEquals
import org.junit.Assert.assertSame
import org.junit.Assert.assertTrue
import org.junit.Test

/**
 * The library module's streams (android/authcore/.../streams): a sign-in observed as a StateFlow,
 * approvals as a Flow over the long-poll, and the timestamps they carry as java.time.Instant.
 * `withTimeout` here only keeps a broken build from hanging the suite; nothing is measured.
 */
class StreamsTest {
    private val bob = "bob@acme.example"
    private val guard = 60.seconds

    @Test
    fun `alice's sign-in observed through its StateFlow reaches Done, its times as Instants`() = runBlocking {
        val flow = TestServer.newDevice().signIn()
        val states = flow.stateFlow()
        assertSame("one StateFlow per flow", states, flow.stateFlow())
        assertEquals(SignInState.EnterIdentifier, states.value)
        val seen = Collections.synchronizedList(mutableListOf<String>())
        val screen = launch(start = CoroutineStart.UNDISPATCHED) {
            states.collect { seen.add(it::class.simpleName!!) }
        }
        val done = async(start = CoroutineStart.UNDISPATCHED) { states.first { it is SignInState.Done } }

        // the screen's gestures; what it shows comes from the StateFlow
        val before = Instant.now().epochSecond
        flow.start("alice@acme.example")
        flow.chooseMethod(states.value.method(MethodKind.EMAIL_CODE))
        val code = states.value.expect<SignInState.EnterCode>()
        val after = Instant.now().epochSecond
        // "expires in 10 minutes", as an Instant (the server's code ttl is 600 s)
        val expiresAt: Instant = code.expiresAt
        assertTrue("$expiresAt", expiresAt.epochSecond in before + 600..after + 600)
        flow.submitCode(TestServer.lastCode("alice@acme.example"))

        val session = withTimeout(guard) { done.await() }.session()
        screen.cancelAndJoin()
        assertEquals("EnterIdentifier", seen.first())
        assertEquals("Done", seen.last())
        assertTrue("$seen", "EnterCode" in seen)

        // the history's newest entry is this sign-in, at an Instant between the two readings
        val signedIn = session.signInHistory().maxBy { it.at }
        val at: Instant = signedIn.at
        assertTrue("$at", at.epochSecond in before..Instant.now().epochSecond)
        assertEquals("success", signedIn.result)
        session.logout()
    }

    @Test
    fun `bob's approvals arrive through the stream once each and cancelling it ends the long-poll`() = runBlocking {
        val phone = bobWithAPhone()
        val calls = AtomicInteger()
        val outcomes = Collections.synchronizedList(mutableListOf<String>())
        val waiting = Channel<Int>(Channel.UNLIMITED)
        val arrivals = Channel<ApprovalRequest>(Channel.UNLIMITED)
        val polling = ApprovalPolling(repeatDelay = 50.milliseconds)
        val collecting = launch {
            approvalRequests(polling) { wait ->
                waiting.send(calls.incrementAndGet())
                try {
                    phone.pendingApprovals(wait).also { outcomes.add("answered ${it.size}") }
                } catch (e: CancellationException) {
                    outcomes.add("cancelled")
                    throw e
                } catch (e: AuthenticatorException) {
                    // a transient failure on a loaded machine: the stream backs off and asks again
                    outcomes.add("failed: ${e.message}")
                    throw e
                }
            }.collect { arrivals.send(it) }
        }

        // Bob signs in on his laptop: the phone's stream shows the request, with its times
        val laptop = TestServer.newDevice()
        val before = Instant.now().epochSecond
        val push = pushSignIn(laptop.signIn())
        val request = withTimeout(guard) { arrivals.receive() }
        val after = Instant.now().epochSecond
        assertEquals(ApprovalKind.SIGN_IN, request.kind)
        assertEquals(NumberPrompt.Enter(2u), request.prompt)
        // the push lives 2 minutes (demo.toml's push ttl_s = 120)
        val expiresAt: Instant = request.expiresAt
        assertTrue("$expiresAt", expiresAt.epochSecond in before + 120..after + 120)
        assertTrue("${request.context.time}", request.context.time.epochSecond in before..after)

        // while it stays pending the stream asks again and again but shows it only once
        val asked = calls.get()
        withTimeout(guard) { while (waiting.receive() < asked + 3) Unit }
        assertTrue("emitted once", arrivals.tryReceive().isFailure)
        phone.approve(request.id, push.number)
        assertEquals(bob, push.flow.waitForPhone().session().userInfo().email)

        // it keeps listening: the next sign-in's request arrives too, and is denied
        val next = pushSignIn(laptop.signIn())
        val second = withTimeout(guard) { arrivals.receive() }
        assertTrue("a new request", second.id != request.id)
        phone.deny(second.id)
        val denied = assertThrowsSuspend<ClientException.PushDenied> { next.flow.waitForPhone() }
        assertEquals(false, denied.fraudReported)

        // nothing is pending now: a question asked from here on is a long-poll waiting on the
        // server; the screen goes away and cancels the collector: that call is cancelled, none follows
        val answeredBefore = calls.get()
        val inFlight = withTimeout(guard) {
            var call = waiting.receive()
            while (call <= answeredBefore) call = waiting.receive()
            call
        }
        collecting.cancelAndJoin()
        assertEquals("the long-poll was cancelled, not answered", "cancelled", outcomes.last())
        assertEquals("$outcomes", inFlight, outcomes.size)
        assertEquals(inFlight, calls.get())
        assertEquals(emptyList<ApprovalRequest>(), phone.pendingApprovals(0u))
        assertEquals("no call after the collector ended", inFlight, calls.get())
    }

    @Test
    fun `transient failures back off and a permanent one ends the stream`() = runBlocking {
        val a = request("a")
        val b = request("b")
        val answers = ArrayDeque<() -> List<ApprovalRequest>>(
            listOf(
                { throw AuthenticatorException.Network(true) },
                { throw AuthenticatorException.Timeout() },
                { throw AuthenticatorException.RateLimited(5uL) },
                { listOf(a) },
                { listOf(a) }, // still pending: not emitted again
                { throw AuthenticatorException.Server(503u) },
                { listOf(a, b) },
                { listOf(b) },
                { emptyList() }, // both answered: the long-poll waited and found nothing
                { throw AuthenticatorException.UpgradeRequired() },
                { error("asked after a permanent failure") },
            ),
        )
        val pauses = mutableListOf<Duration>()
        val emitted = mutableListOf<String>()
        val waits = mutableListOf<UInt>()
        val polling = ApprovalPolling(waitSeconds = 25u)
        val ended = assertThrowsSuspend<AuthenticatorException.UpgradeRequired> {
            approvalRequests(polling, sleep = { pauses.add(it) }) { wait ->
                waits.add(wait)
                answers.removeFirst()()
            }.collect { emitted.add(it.id) }
        }
        assertEquals("this app must be updated to approve sign-ins; update it from the app store", ended.message)
        assertEquals(listOf("a", "b"), emitted)
        // 1 s, 2 s, then at least the 5 s the server asked; 2 s after an answer with nothing new;
        // the backoff starts over after an answer (1 s); 2 s after b alone
        assertEquals(listOf(1.seconds, 2.seconds, 5.seconds, 2.seconds, 1.seconds, 2.seconds), pauses)
        assertEquals(List(10) { 25u }, waits)
        assertEquals(1, answers.size)
    }

    @Test
    fun `polling settings outside their range are refused`() {
        val wait = runCatching { ApprovalPolling(waitSeconds = 0u) }.exceptionOrNull()
        assertEquals("waitSeconds is 1 to 30", wait?.message)
        val long = runCatching { ApprovalPolling(waitSeconds = 31u) }.exceptionOrNull()
        assertEquals("waitSeconds is 1 to 30", long?.message)
        val pause = runCatching { ApprovalPolling(repeatDelay = Duration.ZERO) }.exceptionOrNull()
        assertEquals("the delays are positive", pause?.message)
        val cap = runCatching { ApprovalPolling(firstBackoff = 10.seconds, maxBackoff = 1.seconds) }.exceptionOrNull()
        assertEquals("maxBackoff is at least firstBackoff", cap?.message)
    }

    private class PushSignIn(val flow: SignInFlow, val number: String)

    /** Password, then the push to the phone (picked when the screen offers a choice). */
    private suspend fun pushSignIn(flow: SignInFlow): PushSignIn {
        var state = passwordSteps(flow, bob, "bob-demo-password")
        if (state is SignInState.ChooseSecondFactor) state = flow.chooseSecondFactor(SecondFactor.PUSH)
        return PushSignIn(flow, state.expect<SignInState.ApprovePush>().number)
    }

    /** Bob signs in with his password and TOTP code, and adds his phone from the session. */
    private suspend fun bobWithAPhone(): Authenticator {
        val phone = TestServer.newPhone("Bob's JVM phone", JdkDeviceKeys(), Fingerprint())
        phone.addFromQr("otpauth://totp/Acme:$bob?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Acme")
        val flow = TestServer.newDevice().signIn()
        var state = passwordSteps(flow, bob, "bob-demo-password")
        if (state is SignInState.ChooseSecondFactor) state = flow.chooseSecondFactor(SecondFactor.TOTP)
        state.expect<SignInState.EnterTotp>()
        val session = flow.submitCode(phone.codes(Instant.now()).single().code).session()
        val enrollment = session.addAuthenticator()
        assertTrue("${enrollment.expiresAt}", enrollment.expiresAt.isAfter(Instant.now()))
        phone.addFromQr(enrollment.qrPayload.expose()) as Added.Push
        val test = session.authenticatorEnrollment(enrollment.enrollmentId, EnrollmentStatus.WaitingForDevice, 5uL)
            as? EnrollmentStatus.ApproveTest ?: error("expected the test approval")
        phone.approve(phone.pendingApprovals(5u).single().id, test.number)
        assertTrue(session.authenticatorEnrollment(enrollment.enrollmentId, test, 5uL) is EnrollmentStatus.Completed)
        return phone
    }

    private fun request(id: String) = ApprovalRequest(
        id = id,
        account = "dv_1",
        accountLabel = "Acme: $bob",
        kind = ApprovalKind.SIGN_IN,
        prompt = NumberPrompt.Enter(2u),
        context = ApprovalContext("Authcore Demo", "127.0.0.1", "JVM", null, Instant.ofEpochSecond(1_767_225_600)),
        expiresAt = Instant.ofEpochSecond(1_767_225_720),
    )
}
