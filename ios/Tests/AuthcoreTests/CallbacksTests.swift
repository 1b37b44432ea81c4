import Authcore
import Foundation
import XCTest

/// The app's callbacks throw (a bug in the app, a closed screen): authcore goes on instead of
/// panicking. A throwing listener or logger is ignored.
final class CallbacksTests: XCTestCase {
    struct AppBug: Error {}

    /// An app callback with a bug: counts its calls and throws on each.
    final class Throwing: SignInListener, Logger, @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        var calls: Int { lock.lock(); defer { lock.unlock() }; return count }

        private func fail() throws {
            lock.lock(); count += 1; lock.unlock()
            throw AppBug()
        }

        func onStateChanged(state: SignInState) throws { try fail() }
        func log(record: LogRecord) throws { try fail() }
    }

    final class QuietLogger: Logger, @unchecked Sendable {
        func log(record: LogRecord) {}
    }

    func testAListenerThatThrowsDoesNotStopTheSignIn() async throws {
        let flow = try TestServer.newDevice().signIn()
        let listener = Throwing()
        flow.setListener(listener: listener)
        let methods = try await flow.start(identifier: "bob@acme.example")
        let code = try await flow.chooseMethod(method: try methods.method(.emailCode))
        guard case let .enterCode(_, _, _, length, _, _) = code else { return XCTFail("\(code)") }
        XCTAssertEqual(length, 6)
        XCTAssertEqual(listener.calls, 2)
        _ = await flow.cancel()
    }

    func testALoggerThatThrowsLosesItsRecordsAndNothingElse() async throws {
        let logger = Throwing()
        initLogger(logger: logger, level: .debug)
        defer { initLogger(logger: QuietLogger(), level: .error) }
        let flow = try TestServer.newDevice().signIn()
        flow.setListener(listener: ScreenRecorder()) // its state changes are logged at debug
        let methods = try await flow.start(identifier: "bob@acme.example")
        guard case .chooseMethod = methods else { return XCTFail("\(methods)") }
        XCTAssertGreaterThan(logger.calls, 0)
    }
}
