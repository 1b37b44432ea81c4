package com.example.authcore.tests

import com.example.authcore.Added
import com.example.authcore.core.ApprovalKind
import com.example.authcore.AuthenticatorException
import com.example.authcore.ClientException
import com.example.authcore.core.CodePurpose
import com.example.authcore.core.NumberPrompt
import com.example.authcore.SignInState
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

/**
 * Dave (Globex) on his laptop (an AuthClient) and his phone (an Authenticator whose DeviceKeys are
 * the JDK's own P-256 keys): enrollment by QR, the test approval, then a sign-in approved by
 * entering the number on the phone. The server verifies every signature the JDK made.
 */
class PhoneApprovalTest {
    private val dave = "dave@globex.example"
    private val davePassword = "dave-demo-password"

    @Test
    fun `dave enrolls his phone by QR code and approves sign-ins by entering the number`() = runBlocking {
        val keys = JdkDeviceKeys()
        val fingerprint = Fingerprint()
        val phone = TestServer.newPhone("Dave's JVM phone", keys, fingerprint)
        val laptop = TestServer.newDevice()

        // laptop: email -> Password -> new device, "Confirm it's you" by email
        val flow = laptop.signIn()
        val methods = flow.start(dave)
        assertEquals(TestServer.globexUrl, flow.serverUrl())
        flow.chooseMethod(methods.method(com.example.authcore.core.MethodKind.PASSWORD))
        val confirm = flow.submitPassword(davePassword).expect<SignInState.EnterCode>()
        assertEquals(CodePurpose.VERIFY_DEVICE, confirm.purpose)

        // "Protect your account": Skip for now (3 times left) / Set it up now
        val protect = flow.submitCode(TestServer.lastCode(dave)).expect<SignInState.EnrollAuthenticator>()
        assertEquals(3u, protect.skipsLeft)
        assertEquals(false, protect.mandatory)
        val qr = flow.enrollAuthenticator().expect<SignInState.ActivateAuthenticator>()
        assertEquals("Globex: $dave", qr.label)
        assertEquals("redacted in toString", false, qr.toString().contains(qr.activationCode.expose()))

        // phone: scans the QR code; a JDK key is generated and registered
        val added = phone.addFromQr(qr.qrPayload.expose()) as Added.Push
        assertEquals("Globex: $dave", added.account.label)
        assertTrue(added.account.deviceId.startsWith("dv_"))
        assertEquals(1, keys.aliases.size)

        // laptop: "Approve the test notification" with its number; the phone enters it
        val test = flow.waitForPhone().expect<SignInState.ApproveTestPush>()
        val testRequest = phone.pendingApprovals(5u).single()
        assertEquals(ApprovalKind.TEST, testRequest.kind)
        assertEquals(NumberPrompt.Enter(2u), testRequest.prompt)
        phone.approve(testRequest.id, test.number)
        assertEquals(listOf("Finish setting up Globex: $dave"), fingerprint.asked.toList())
        val session = flow.waitForPhone().session()
        val device = session.devices().single()
        assertEquals("Dave's JVM phone", device.displayName)
        assertEquals("active", device.state)

        // next sign-in on the recognised laptop: password, then "enter 42 on your phone"
        val push = laptop.signIn()
        val approve = passwordSteps(push, dave, davePassword).expect<SignInState.ApprovePush>()
        assertEquals(2, approve.number.length)
        val request = phone.pendingApprovals(10u).single()
        assertEquals(ApprovalKind.SIGN_IN, request.kind)
        assertEquals("Authcore Demo", request.context.app)
        assertEquals("127.0.0.1", request.context.ip)

        // a number of the wrong shape is refused on the phone before anything is sent
        val wrongShape = assertThrowsSuspend<AuthenticatorException.InvalidNumber> { phone.approve(request.id, "7") }
        assertEquals(2u, wrongShape.length)

        val signaturesBefore = keys.signatures.get()
        phone.approve(request.id, approve.number)
        assertTrue("the approval was signed by the JDK key", keys.signatures.get() > signaturesBefore)
        val second = push.waitForPhone().session()
        assertEquals(dave, second.userInfo().email)
        assertTrue(session.signInHistory().any { it.method == "push" || "push" in it.factors })

        // a push denied on the phone fails the sign-in with PushDenied
        val denied = laptop.signIn()
        passwordSteps(denied, dave, davePassword).expect<SignInState.ApprovePush>()
        phone.deny(phone.pendingApprovals(10u).single().id)
        val error = assertThrowsSuspend<ClientException.PushDenied> { denied.waitForPhone() }
        assertEquals(false, error.fraudReported)

        // the biometric prompt throws: "not verified", nothing is signed or sent
        val crashed = laptop.signIn()
        passwordSteps(crashed, dave, davePassword).expect<SignInState.ApprovePush>()
        val pending = phone.pendingApprovals(10u).single()
        fingerprint.throws = true
        val signaturesNow = keys.signatures.get()
        assertThrowsSuspend<AuthenticatorException.UserNotVerified> { phone.approve(pending.id, "00") }
        assertEquals(signaturesNow, keys.signatures.get())
        fingerprint.throws = false
        phone.deny(pending.id)

        // FCM hands the phone a new token: the server has it, and null turns pushes off
        assertEquals(false, session.devices().single().pushEnabled)
        phone.updatePushToken("fcm-registration-token")
        assertEquals(true, session.devices().single().pushEnabled)
        phone.updatePushToken(null)
        assertEquals(false, session.devices().single().pushEnabled)

        // "No numbers in your app?": an app from before number matching is told to update, and
        // the sign-in says the phone app must be updated instead of sending a push nobody can answer
        val (status, body) = TestServer.fetchAsAnOldApp(added.account.deviceId) { keys.sign(keys.aliases.single(), it) }
        assertEquals(body, 426, status)
        assertTrue(body, body.contains("\"upgrade_required\""))
        val tooOld = laptop.signIn()
        tooOld.chooseMethod(tooOld.start(dave).method(com.example.authcore.core.MethodKind.PASSWORD))
        val upgrade = assertThrowsSuspend<ClientException.PhoneAppTooOld> { tooOld.submitPassword(davePassword) }
        assertEquals(
            "the authenticator app on your phone must be updated to show sign-in numbers; update it, or choose another way to sign in",
            upgrade.message,
        )
        // the updated app's next fetch makes the phone reachable again
        assertEquals(emptyList<Any>(), phone.pendingApprovals(0u))
        val again = laptop.signIn()
        passwordSteps(again, dave, davePassword).expect<SignInState.ApprovePush>()
        phone.deny(phone.pendingApprovals(10u).single().id)

        assertTrue(session.logoutEverywhere() >= 2u)
    }
}
