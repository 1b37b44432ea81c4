import Authcore
import XCTest

final class SignInTests: XCTestCase {
    /// Alice types her email, picks "Email a code", enters the code from her inbox and is signed in.
    func testAliceSignsInWithAnEmailCode() async throws {
        let app = try TestServer.newDevice()
        let flow = app.signIn()
        let recorder = ScreenRecorder()
        flow.setListener(listener: recorder)

        // "Sign in": alice@acme.example -> Password / Email a code to a***@acme.example
        let methods = try await flow.start(identifier: "alice@acme.example")
        guard case let .chooseMethod(_, organization, list) = methods else { return XCTFail("\(methods)") }
        XCTAssertEqual(organization, "Acme")
        XCTAssertEqual(list.map(\.kind), [.password, .emailCode])
        let emailCode = try methods.method(.emailCode)
        XCTAssertEqual(emailCode.destinationHint, "a***@acme.example")

        // "Enter the code sent to a***@acme.example"
        let enterCode = try await flow.chooseMethod(method: emailCode)
        guard case let .enterCode(purpose, channel, _, length, _, resendAfter) = enterCode else {
            return XCTFail("\(enterCode)")
        }
        XCTAssertEqual(purpose, .signIn)
        XCTAssertEqual(channel, .email)
        XCTAssertEqual(length, 6)
        XCTAssertGreaterThan(resendAfter, 0)

        // the code from the mail -> signed in
        let session = try await flow.submitCode(code: TestServer.lastCode(to: "alice@acme.example")).session()
        let info = try await session.userInfo()
        XCTAssertEqual(info.email, "alice@acme.example")
        XCTAssertEqual(info.name, "Alice Acme")
        XCTAssertEqual(recorder.screens, ["ChooseMethod", "EnterCode", "Done"])
        let history = try await session.signInHistory()
        XCTAssertTrue(history.contains { $0.kind == "sign_in" && $0.result == "success" })

        // the app restarts: the saved session is there; log out ends it
        let restored = try XCTUnwrap(app.savedSession())
        XCTAssertEqual(restored.state(), .active)
        try await session.logout()
        XCTAssertEqual(session.state(), .ended(reason: .loggedOut))
        XCTAssertNil(try app.savedSession())
    }

    /// A wrong password is ClientError.WrongCredential with attemptsLeft, and the screen stays.
    func testAWrongPasswordIsWrongCredentialWithAttemptsLeft() async throws {
        let flow = try TestServer.newDevice().signIn()
        let methods = try await flow.start(identifier: "alice@acme.example")
        let password = try await flow.chooseMethod(method: methods.method(.password))
        guard case .enterPassword = password else { return XCTFail("\(password)") }

        let wrong = await assertThrows(ClientError.self) { _ = try await flow.submitPassword(password: "not-her-password") }
        guard case let .WrongCredential(attemptsLeft)? = wrong, let left = attemptsLeft else {
            return XCTFail("expected WrongCredential with attemptsLeft, got \(String(describing: wrong))")
        }
        XCTAssertTrue((1...9).contains(left), "attempts left: \(left)")
        guard case .enterPassword = flow.state() else { return XCTFail("the screen changed: \(flow.state())") }

        // a second wrong one counts down
        let again = await assertThrows(ClientError.self) { _ = try await flow.submitPassword(password: "still-wrong") }
        XCTAssertEqual(again, .WrongCredential(attemptsLeft: left - 1))

        // the right one signs her in
        try await flow.submitPassword(password: "alice-demo-password").session().logout()
    }

    /// A gesture the screen does not offer is ClientError.InvalidAction.
    func testAGestureTheScreenDoesNotOfferIsInvalidAction() async throws {
        let flow = try TestServer.newDevice().signIn()
        let error = await assertThrows(ClientError.self) { _ = try await flow.submitPassword(password: "x") }
        guard case let .InvalidAction(_, state)? = error else { return XCTFail("got \(String(describing: error))") }
        XCTAssertEqual(state, "EnterIdentifier")
        guard case .enterIdentifier = flow.state() else { return XCTFail("\(flow.state())") }
    }

    /// Every error says in words what happened (`description`, `localizedDescription`).
    func testEveryErrorSaysInWordsWhatHappened() async throws {
        let flow = try TestServer.newDevice().signIn()
        let invalid = await assertThrows(ClientError.self) { _ = try await flow.submitPassword(password: "x") }
        XCTAssertEqual(invalid?.description, "`submit_password` is not possible at EnterIdentifier")
        let empty = await assertThrows(ClientError.self) { _ = try await flow.start(identifier: " ") }
        XCTAssertEqual(empty?.description, "enter your email address or phone number")

        // a server whose certificate this app does not trust: a case without fields
        let untrusting = try AuthClient(
            config: ClientConfig(serverUrl: "https://127.0.0.1:\(TestServer.port)", clientId: TestServer.clientId),
            store: MemoryStore()
        )
        let untrusted = await assertThrows(ClientError.self) {
            _ = try await untrusting.signIn().start(identifier: "alice@acme.example")
        }
        XCTAssertEqual(untrusted, .Untrusted)
        XCTAssertEqual(untrusted?.localizedDescription, "the server's certificate is not trusted")

        // a new code asked for too soon: the error names the limit and the wait
        let sms = try TestServer.newDevice().signIn()
        _ = try await sms.chooseMethod(method: try await sms.start(identifier: "+15555550101").method(.smsCode))
        let tooSoon = await assertThrows(ClientError.self) { _ = try await sms.resendCode() }
        guard case let .RateLimited(retryAfterSeconds, limit) = tooSoon else { return XCTFail("\(String(describing: tooSoon))") }
        XCTAssertEqual(limit?.kind, .codeResend)
        XCTAssertEqual(limit?.windowS, 30)
        XCTAssertEqual(tooSoon?.description, "a new code can be sent in \(retryAfterSeconds) s")
        _ = await sms.cancel()
    }
}
