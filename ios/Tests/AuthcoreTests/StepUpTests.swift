import Authcore
import XCTest

/// "Confirm it's you" before binding an authenticator: Alice's password-only session is refused
/// with StepUpRequired; the step-up sign-in (password + the emailed code) enrolls her first phone;
/// a second authenticator, from her tablet, then needs a step-up approved on that first phone. Runs last (XCTest
/// runs classes by name): Alice has two phones afterwards.
final class StepUpTests: XCTestCase {
    private let alice = "alice@acme.example"
    private let alicePassword = "alice-demo-password"

    /// QR code -> the phone activates -> the test number entered on the phone -> completed.
    private func enroll(_ session: Session, _ phone: Authenticator) async throws {
        let enrollment = try await session.addAuthenticator()
        XCTAssertTrue(enrollment.qrPayload.expose().hasPrefix("authcore://enroll?v=1&url="))
        let added = try await phone.addFromQr(payload: enrollment.qrPayload.expose())
        guard case let .push(account) = added else { return XCTFail("\(added)") }
        let test = try await session.authenticatorEnrollment(
            enrollmentId: enrollment.enrollmentId, shown: .waitingForDevice, waitSeconds: 5)
        guard case let .approveTest(number, _) = test else { return XCTFail("expected the test approval, got \(test)") }
        let requests = try await phone.pendingApprovals(waitSeconds: 5)
        XCTAssertEqual(requests.count, 1)
        let request = try XCTUnwrap(requests.first)
        XCTAssertEqual(request.kind, .test)
        try await phone.approve(requestId: request.id, number: number)
        let done = try await session.authenticatorEnrollment(
            enrollmentId: enrollment.enrollmentId, shown: test, waitSeconds: 5)
        XCTAssertEqual(done, .completed(deviceId: account.deviceId))
    }

    func testAStepUpSignInBeforeEnrollingASecondAuthenticator() async throws {
        // Alice is signed in with her password alone on her laptop and on her tablet
        let weak = try await passwordSteps(TestServer.newDevice().signIn(), alice, alicePassword).session()
        let tablet = try await passwordSteps(TestServer.newDevice().signIn(), alice, alicePassword).session()

        // a password-only session cannot bind a phone
        let refused = await assertThrows(ClientError.self) { _ = try await weak.addAuthenticator() }
        XCTAssertEqual(refused, .StepUpRequired(maxAgeSeconds: 600))

        // "Confirm it's you" on the laptop: password, then the code emailed to her
        let stepUp = try await weak.stepUp()
        let methods = stepUp.state()
        guard case let .chooseMethod(identifier, _, _) = methods else { return XCTFail("\(methods)") }
        XCTAssertEqual(identifier, alice)
        _ = try await stepUp.chooseMethod(method: methods.method(.password))
        let confirm = try await stepUp.submitPassword(password: alicePassword)
        guard case let .enterCode(purpose, _, _, _, _, _) = confirm else { return XCTFail("\(confirm)") }
        XCTAssertEqual(purpose, .verifyDevice)
        let strong = try await stepUp.submitCode(code: TestServer.lastCode(to: alice)).session()
        XCTAssertEqual(weak.state(), .ended(reason: .replaced))
        let pixel = try TestServer.newPhone("Alice's iPhone", keys: SoftwareBackedKeys(), fingerprint: Fingerprint())
        try await enroll(strong, pixel)

        // the tablet: with a phone on the account, its step-up is approved on that phone
        let again = await assertThrows(ClientError.self) { _ = try await tablet.addAuthenticator() }
        XCTAssertEqual(again, .StepUpRequired(maxAgeSeconds: 600))
        let flow = try await tablet.stepUp()
        _ = try await flow.chooseMethod(method: flow.state().method(.password))
        let push = try await flow.submitPassword(password: alicePassword)
        guard case let .approvePush(number, _) = push else { return XCTFail("expected the push to her phone, got \(push)") }
        let requests = try await pixel.pendingApprovals(waitSeconds: 5)
        XCTAssertEqual(requests.count, 1)
        let request = try XCTUnwrap(requests.first)
        XCTAssertEqual(request.kind, .signIn)
        try await pixel.approve(requestId: request.id, number: number)
        let steppedUp = try await flow.waitForPhone().session()

        // the second authenticator
        try await enroll(steppedUp, TestServer.newPhone("Alice's iPad", keys: SoftwareBackedKeys(), fingerprint: Fingerprint()))
        let names = try await steppedUp.devices().map(\.displayName)
        XCTAssertEqual(Set(names), ["Alice's iPhone", "Alice's iPad"])
    }
}
