import Authcore
import Foundation
import XCTest

/// The app's callbacks throw (a bug in the app, a closed screen): authcore goes on instead of
/// panicking. A throwing listener or logger is ignored; a secure store or key store that throws
/// something undeclared is "unavailable", and nothing half-done is kept.
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

    /// A secure store whose reads or writes fail with an error of the app's own.
    final class BrokenStore: SecureStore, @unchecked Sendable {
        let inner = MemoryStore()
        let reads: Bool
        init(reads: Bool) { self.reads = reads }
        func get(key: String) throws -> Data? { if !reads { throw AppBug() }; return try inner.get(key: key) }
        func put(key: String, value: Data) throws { throw AppBug() }
        func delete(key: String) throws { throw AppBug() }
        func list() throws -> [String] { if !reads { throw AppBug() }; return try inner.list() }
    }

    /// The Secure Enclave failing with an error of the app's own.
    final class BrokenKeys: DeviceKeys, @unchecked Sendable {
        func generate(alias: String) throws -> Data { throw AppBug() }
        func publicKey(alias: String) throws -> Data { throw AppBug() }
        func sign(alias: String, message: Data) throws -> Data { throw AppBug() }
        func delete(alias: String) throws { throw AppBug() }
        func attestation(alias: String, challenge: Data) throws -> DeviceAttestation? { nil }
    }

    private func phone(store: SecureStore, keys: DeviceKeys) throws -> Authenticator {
        try Authenticator(
            store: store,
            keys: keys,
            verification: Fingerprint(),
            config: AuthenticatorConfig(
                deviceName: "Broken phone",
                platform: "ios",
                pushToken: nil,
                userVerification: true,
                extraRootCaPem: TestServer.caPem,
                resolve: TestServer.resolve
            )
        )
    }

    private let uri = "otpauth://totp/Acme:bob@acme.example?secret=JBSWY3DPEHPK3PXP&issuer=Acme"

    func testASecureStoreThatThrowsIsStorageUnavailableAndKeepsNothingHalfWritten() async throws {
        let locked = await assertThrows(AuthenticatorError.self) {
            _ = try self.phone(store: BrokenStore(reads: false), keys: BrokenKeys())
        }
        XCTAssertEqual(locked, .StorageUnavailable)
        XCTAssertEqual(locked?.description, "the secure store is unavailable")

        let phone = try phone(store: BrokenStore(reads: true), keys: BrokenKeys())
        let full = await assertThrows(AuthenticatorError.self) { _ = try await phone.addFromQr(payload: self.uri) }
        XCTAssertEqual(full, .StorageUnavailable)
        XCTAssertTrue(phone.accounts().isEmpty)
    }

    func testAKeyStoreThatThrowsIsDeviceKeyUnavailableBeforeAnythingIsSent() async throws {
        let phone = try phone(store: MemoryStore(), keys: BrokenKeys())
        // a well-formed enrollment link: the key is made before the server is asked
        let link = "authcore://enroll?v=1&url=https%3A%2F%2F\(TestServer.appHost)%3A\(TestServer.port)&code=7K3MQ9XAR2TD"
        let refused = await assertThrows(AuthenticatorError.self) { _ = try await phone.addFromQr(payload: link) }
        XCTAssertEqual(refused, .DeviceKeyUnavailable)
        XCTAssertEqual(refused?.description, "the device key is unavailable")
        XCTAssertTrue(phone.accounts().isEmpty)
        // the code accounts do not need the key store
        guard case .otp = try await phone.addFromQr(payload: uri) else { return XCTFail("not a code account") }
    }
}
