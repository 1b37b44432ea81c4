package com.example.authcore.tests

import com.example.authcore.Account
import com.example.authcore.core.ApprovalKind
import com.example.authcore.core.MethodKind
import com.example.authcore.core.SecondFactor
import com.example.authcore.SignInState
import java.time.Instant
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

/**
 * Cancelling a coroutine blocked in a waiting call drops the Rust future: the call ends at once,
 * and the flow (or the phone) is usable right away. Carol (Globex, TOTP) signs in with a code from
 * her Kotlin authenticator, then sets up push by typing the activation code ("Can't scan image?").
 */
class CancellationTest {
    private val carol = "carol@globex.example"

    @Test
    fun `a cancelled wait for the phone or for approvals ends at once and the flow goes on`() = runBlocking {
        val keys = JdkDeviceKeys()
        val phone = TestServer.newPhone("Carol's JVM phone", keys, Fingerprint())
        phone.addFromQr("otpauth://totp/Globex:$carol?secret=KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU&issuer=Globex")
        val totpId = (phone.accounts().single() as Account.Otp).account.id

        // laptop: password, "Confirm it's you", authenticator code -> "Protect your account"
        val flow = TestServer.newDevice().signIn()
        flow.start(carol).let { flow.chooseMethod(it.method(MethodKind.PASSWORD)) }
        flow.submitPassword("carol-demo-password").expect<SignInState.EnterCode>()
        flow.submitCode(TestServer.lastCode(carol)).expect<SignInState.ChooseSecondFactor>()
        flow.chooseSecondFactor(SecondFactor.TOTP).expect<SignInState.EnterTotp>()
        val code = phone.codes(Instant.now()).single { it.id == totpId }.code
        flow.submitCode(code).expect<SignInState.EnrollAuthenticator>()
        val activation = flow.enrollAuthenticator().expect<SignInState.ActivateAuthenticator>()

        // the screen waits for the phone; the user leaves the screen: the wait is cancelled
        val waiting = launch { flow.waitForPhone() }
        delay(500)
        assertTrue("still waiting", waiting.isActive)
        withTimeout(2_000) { waiting.cancelAndJoin() }
        assertTrue(flow.state() is SignInState.ActivateAuthenticator)

        // "Can't scan image?": the phone takes the typed activation code and server URL
        val account = phone.activateManually(activation.activationCode.expose(), activation.serverUrl)
        assertEquals("Globex: $carol", account.label)
        // the flow was not held by the cancelled wait: a new wait answers at once. (Had the Rust
        // future survived the cancellation, it would have taken this step itself, and the new
        // wait would sit at ApproveTestPush until the timeout.)
        val test = withTimeout(10_000) { flow.waitForPhone() }.expect<SignInState.ApproveTestPush>()
        val request = phone.pendingApprovals(5u).single { it.kind == ApprovalKind.TEST }

        phone.approve(request.id, test.number)
        flow.waitForPhone().session()

        // the phone long-polls for up to 30 s with nothing pending; cancelling ends the call at once
        val idle = async { phone.pendingApprovals(30u) }
        delay(500)
        assertTrue("the long-poll waits", idle.isActive)
        val started = System.nanoTime()
        withTimeout(2_000) { idle.cancelAndJoin() }
        assertTrue("cancelled in ${(System.nanoTime() - started) / 1_000_000} ms", (System.nanoTime() - started) < 1_000_000_000L)
        assertEquals(emptyList<Any>(), phone.pendingApprovals(0u))
    }
}
