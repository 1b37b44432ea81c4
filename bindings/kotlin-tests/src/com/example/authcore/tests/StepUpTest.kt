package com.example.authcore.tests

import com.example.authcore.Added
import com.example.authcore.core.ApprovalKind
import com.example.authcore.Authenticator
import com.example.authcore.ClientException
import com.example.authcore.core.CodePurpose
import com.example.authcore.core.EndReason
import com.example.authcore.core.EnrollmentStatus
import com.example.authcore.core.MethodKind
import com.example.authcore.Session
import com.example.authcore.core.SessionState
import com.example.authcore.SignInState
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

/**
 * "Confirm it's you" before binding an authenticator: Alice's password-only session is refused
 * with StepUpRequired; the step-up sign-in (password + the emailed code) enrolls her first phone;
 * a second authenticator, from her tablet, then needs a step-up approved on that first phone. Runs last: Alice has
 * two phones afterwards.
 */
class StepUpTest {
    private val alice = "alice@acme.example"
    private val alicePassword = "alice-demo-password"

    /** QR code -> the phone activates -> the test number entered on the phone -> Completed. */
    private suspend fun enroll(session: Session, phone: Authenticator): String {
        val enrollment = session.addAuthenticator()
        assertTrue(enrollment.qrPayload.expose().startsWith("authcore://enroll?v=1&url="))
        val added = phone.addFromQr(enrollment.qrPayload.expose()) as Added.Push
        val test = session.authenticatorEnrollment(enrollment.enrollmentId, EnrollmentStatus.WaitingForDevice, 5uL)
            as? EnrollmentStatus.ApproveTest ?: error("expected the test approval")
        val request = phone.pendingApprovals(5u).single()
        assertEquals(ApprovalKind.TEST, request.kind)
        phone.approve(request.id, test.number)
        assertEquals(
            EnrollmentStatus.Completed(added.account.deviceId),
            session.authenticatorEnrollment(enrollment.enrollmentId, test, 5uL),
        )
        return added.account.deviceId
    }

    @Test
    fun `a step-up sign-in before enrolling a second authenticator`() = runBlocking {
        // Alice is signed in with her password alone on her laptop and on her tablet
        val weak = passwordSteps(TestServer.newDevice().signIn(), alice, alicePassword).session()
        val tablet = passwordSteps(TestServer.newDevice().signIn(), alice, alicePassword).session()

        // a password-only session cannot bind a phone
        val refused = assertThrowsSuspend<ClientException.StepUpRequired> { weak.addAuthenticator() }
        assertEquals(600uL, refused.maxAgeSeconds)

        // "Confirm it's you" on the laptop: password, then the code emailed to her
        val stepUp = weak.stepUp()
        val methods = stepUp.state().expect<SignInState.ChooseMethod>()
        assertEquals(alice, methods.identifier)
        stepUp.chooseMethod(methods.method(MethodKind.PASSWORD))
        val confirm = stepUp.submitPassword(alicePassword).expect<SignInState.EnterCode>()
        assertEquals(CodePurpose.VERIFY_DEVICE, confirm.purpose)
        val strong = stepUp.submitCode(TestServer.lastCode(alice)).session()
        assertEquals(SessionState.Ended(EndReason.REPLACED), weak.state())
        val pixel = TestServer.newPhone("Alice's Pixel", JdkDeviceKeys(), Fingerprint())
        enroll(strong, pixel)

        // the tablet: with a phone on the account, its step-up is approved on that phone
        assertThrowsSuspend<ClientException.StepUpRequired> { tablet.addAuthenticator() }
        val again = tablet.stepUp()
        again.chooseMethod(again.state().method(MethodKind.PASSWORD))
        val push = again.submitPassword(alicePassword).expect<SignInState.ApprovePush>()
        val request = pixel.pendingApprovals(5u).single()
        assertEquals(ApprovalKind.SIGN_IN, request.kind)
        pixel.approve(request.id, push.number)
        val steppedUp = again.waitForPhone().session()

        // the second authenticator
        enroll(steppedUp, TestServer.newPhone("Alice's tablet", JdkDeviceKeys(), Fingerprint()))
        assertEquals(
            setOf("Alice's Pixel", "Alice's tablet"),
            steppedUp.devices().map { it.displayName }.toSet(),
        )
    }
}
