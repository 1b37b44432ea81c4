package com.example.authcore.tests

import com.example.authcore.core.RateLimitKind
import com.example.authcore.AuthClient
import com.example.authcore.ClientConfig
import com.example.authcore.ClientException
import com.example.authcore.core.CodeChannel
import com.example.authcore.core.CodePurpose
import com.example.authcore.core.EndReason
import com.example.authcore.core.MethodKind
import com.example.authcore.core.SessionState
import com.example.authcore.SignInState
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Test

class SignInTest {
    @Test
    fun `alice types her email, picks Email a code, enters the code from her inbox and is signed in`() = runBlocking {
        val app = TestServer.newDevice()
        val flow = app.signIn()
        val recorder = ScreenRecorder()
        flow.setListener(recorder)

        // "Sign in": alice@acme.example -> Password / Email a code to a***@acme.example
        val methods = flow.start("alice@acme.example").expect<SignInState.ChooseMethod>()
        assertEquals("Acme", methods.organization)
        assertEquals(listOf(MethodKind.PASSWORD, MethodKind.EMAIL_CODE), methods.methods.map { it.kind })
        val emailCode = methods.method(MethodKind.EMAIL_CODE)
        assertEquals("a***@acme.example", emailCode.destinationHint)

        // "Enter the code sent to a***@acme.example"
        val enterCode = flow.chooseMethod(emailCode).expect<SignInState.EnterCode>()
        assertEquals(CodePurpose.SIGN_IN, enterCode.purpose)
        assertEquals(CodeChannel.EMAIL, enterCode.channel)
        assertEquals(6u, enterCode.length)
        assertTrue(enterCode.resendAfterSeconds > 0u)

        // the code from the mail -> signed in
        val session = flow.submitCode(TestServer.lastCode("alice@acme.example")).session()
        assertEquals("alice@acme.example", session.userInfo().email)
        assertEquals("Alice Acme", session.userInfo().name)
        assertEquals(listOf("ChooseMethod", "EnterCode", "Done"), recorder.screens)
        assertTrue(session.signInHistory().any { it.kind == "sign_in" && it.result == "success" })

        // the app restarts: the saved session is there; log out ends it
        val restored = app.savedSession()
        assertNotNull(restored)
        assertEquals(SessionState.Active, restored!!.state())
        session.logout()
        assertEquals(SessionState.Ended(EndReason.LOGGED_OUT), session.state())
        assertEquals(null, app.savedSession())
    }

    @Test
    fun `a wrong password is a WrongCredential exception with attemptsLeft and the screen stays`() = runBlocking {
        val flow = TestServer.newDevice().signIn()
        val methods = flow.start("alice@acme.example")
        flow.chooseMethod(methods.method(MethodKind.PASSWORD)).expect<SignInState.EnterPassword>()

        val wrong = assertThrowsSuspend<ClientException.WrongCredential> { flow.submitPassword("not-her-password") }
        val left = wrong.attemptsLeft ?: error("no attemptsLeft")
        assertTrue("attempts left: $left", left in 1u..9u)
        assertTrue(flow.state() is SignInState.EnterPassword)

        // a second wrong one counts down
        val again = assertThrowsSuspend<ClientException.WrongCredential> { flow.submitPassword("still-wrong") }
        assertEquals(left - 1u, again.attemptsLeft)

        // the right one signs her in
        flow.submitPassword("alice-demo-password").session().logout()
    }

    @Test
    fun `a gesture the screen does not offer is an InvalidAction exception`() = runBlocking {
        val flow = TestServer.newDevice().signIn()
        val error = assertThrowsSuspend<ClientException.InvalidAction> { flow.submitPassword("x") }
        assertEquals("EnterIdentifier", error.state)
        assertTrue(flow.state() is SignInState.EnterIdentifier)
    }

    @Test
    fun `every exception says in words what happened`() = runBlocking {
        val flow = TestServer.newDevice().signIn()
        val invalid = assertThrowsSuspend<ClientException.InvalidAction> { flow.submitPassword("x") }
        assertEquals("`submit_password` is not possible at EnterIdentifier", invalid.message)
        val empty = assertThrowsSuspend<ClientException.InvalidInput> { flow.start(" ") }
        assertEquals("enter your email address or phone number", empty.message)

        // a server whose certificate this app does not trust: a variant without fields
        val untrusting = AuthClient(
            ClientConfig(serverUrl = "https://127.0.0.1:${TestServer.port}", clientId = TestServer.CLIENT_ID),
            MemoryStore(),
        )
        val untrusted = assertThrowsSuspend<ClientException.Untrusted> { untrusting.signIn().start("alice@acme.example") }
        assertEquals("the server's certificate is not trusted", untrusted.message)
        assertEquals(untrusted.message, untrusted.toString())

        // a new code asked for too soon: the exception names the limit and the wait
        val sms = TestServer.newDevice().signIn()
        sms.chooseMethod(sms.start("+15555550101").method(MethodKind.SMS_CODE))
        val tooSoon = assertThrowsSuspend<ClientException.RateLimited> { sms.resendCode() }
        assertEquals(RateLimitKind.CODE_RESEND, tooSoon.limit?.kind)
        assertEquals(30UL, tooSoon.limit?.windowS)
        assertEquals("a new code can be sent in ${tooSoon.retryAfterSeconds} s", tooSoon.message)
        sms.cancel()
        Unit
    }
}
