import Authcore
import Foundation
import XCTest

/// Cancelling a Swift Task blocked in a waiting call drops the Rust future: the call ends at
/// once with CancellationError, and the flow (or the phone) is usable right away. Carol (Globex,
/// TOTP) signs in with a code from her Swift authenticator, then sets up push by typing the
/// activation code ("Can't scan image?").
final class CancellationTests: XCTestCase {
    private let carol = "carol@globex.example"

    func testACancelledWaitForThePhoneOrForApprovalsEndsAtOnceAndTheFlowGoesOn() async throws {
        let phone = try TestServer.newPhone("Carol's Swift phone", keys: SoftwareBackedKeys(), fingerprint: Fingerprint())
        _ = try await phone.addFromQr(payload: "otpauth://totp/Globex:\(carol)?secret=KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU&issuer=Globex")
        guard case let .otp(totpAccount)? = phone.accounts().first else { return XCTFail("\(phone.accounts())") }

        // laptop: password, "Confirm it's you", authenticator code -> "Protect your account"
        let flow = try TestServer.newDevice().signIn()
        let methods = try await flow.start(identifier: carol)
        _ = try await flow.chooseMethod(method: methods.method(.password))
        guard case .enterCode = try await flow.submitPassword(password: "carol-demo-password") else { return XCTFail() }
        guard case .chooseSecondFactor = try await flow.submitCode(code: TestServer.lastCode(to: carol)) else { return XCTFail() }
        guard case .enterTotp = try await flow.chooseSecondFactor(factor: .totp) else { return XCTFail() }
        let code = try XCTUnwrap(phone.codes(now: Date()).first { $0.id == totpAccount.id }).code
        guard case .enrollAuthenticator = try await flow.submitCode(code: code) else { return XCTFail() }
        let activation = try await flow.enrollAuthenticator()
        guard case let .activateAuthenticator(_, activationCode, serverUrl, _, _) = activation else {
            return XCTFail("\(activation)")
        }

        // the screen waits for the phone; the user leaves the screen: the wait is cancelled
        let waiting = Task { try await flow.waitForPhone() }
        try await Task.sleep(nanoseconds: 500_000_000)
        waiting.cancel()
        let waitOutcome = try await within(seconds: 2) { await waiting.result }
        XCTAssertTrue(isCancellation(waitOutcome), "the wait ended with \(waitOutcome)")
        guard case .activateAuthenticator = flow.state() else { return XCTFail("\(flow.state())") }

        // "Can't scan image?": the phone takes the typed activation code and server URL
        let account = try await phone.activateManually(activationCode: activationCode.expose(), serverUrl: serverUrl)
        XCTAssertEqual(account.label, "Globex: \(carol)")
        // the flow was not held by the cancelled wait: a new wait answers at once. (Had the Rust
        // future survived the cancellation, it would have taken this step itself, and the new
        // wait would sit at ApproveTestPush until the timeout.)
        let test = try await within(seconds: 10) { try await flow.waitForPhone() }
        guard case let .approveTestPush(number, _) = test else { return XCTFail("\(test)") }
        let requests = try await phone.pendingApprovals(waitSeconds: 5)
        let request = try XCTUnwrap(requests.first { $0.kind == .test })
        try await phone.approve(requestId: request.id, number: number)
        _ = try await flow.waitForPhone().session()

        // the phone long-polls for up to 30 s with nothing pending; cancelling ends the call at once
        let idle = Task { try await phone.pendingApprovals(waitSeconds: 30) }
        try await Task.sleep(nanoseconds: 500_000_000)
        let started = Date()
        idle.cancel()
        let idleOutcome = try await within(seconds: 2) { await idle.result }
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertTrue(isCancellation(idleOutcome), "the long-poll ended with \(idleOutcome)")
        XCTAssertLessThan(elapsed, 1.0, "cancelled in \(Int(elapsed * 1000)) ms")
        let pending = try await phone.pendingApprovals(waitSeconds: 0)
        XCTAssertEqual(pending, [])
    }

    private func isCancellation<T>(_ outcome: Result<T, Error>) -> Bool {
        if case .failure(let error) = outcome { return error is CancellationError }
        return false
    }
}
