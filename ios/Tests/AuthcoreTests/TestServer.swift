import Authcore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest

/// The `authcore server --dev` process scripts/test-swift.sh started: demo.toml behind TLS with a
/// test CA. The app talks to https://id.authcore.test:PORT; Globex users continue at their own
/// sign-in host login.globex.example:PORT. Both names resolve to 127.0.0.1 through the client's
/// resolve overrides, and TLS checks them against the test CA the client trusts.
enum TestServer {
    static let clientId = "authcore-demo-app"
    static let appHost = "id.authcore.test"
    static let globexHost = "login.globex.example"

    static let port: Int = {
        guard let value = ProcessInfo.processInfo.environment["AUTHCORE_TEST_PORT"], let port = Int(value) else {
            fatalError("AUTHCORE_TEST_PORT is not set: run scripts/test-swift.sh")
        }
        return port
    }()

    static let caPem: String = {
        guard let path = ProcessInfo.processInfo.environment["AUTHCORE_TEST_CA"],
              let pem = try? String(contentsOfFile: path, encoding: .utf8) else {
            fatalError("AUTHCORE_TEST_CA is not set or unreadable: run scripts/test-swift.sh")
        }
        return pem
    }()

    static var url: String { "https://\(appHost):\(port)" }
    static var globexUrl: String { "https://\(globexHost):\(port)" }
    static let resolve = [appHost: "127.0.0.1", globexHost: "127.0.0.1"]

    /// The app on a new device (its own empty store).
    static func newDevice(store: MemoryStore = MemoryStore()) throws -> AuthClient {
        try AuthClient(
            config: ClientConfig(serverUrl: url, clientId: clientId, extraRootCaPem: caPem, resolve: resolve),
            store: store
        )
    }

    /// An authenticator phone with the given keys and biometric prompt.
    static func newPhone(_ name: String, keys: DeviceKeys, fingerprint: Fingerprint) throws -> Authenticator {
        try Authenticator(
            store: MemoryStore(),
            keys: keys,
            verification: fingerprint,
            config: AuthenticatorConfig(
                deviceName: name,
                platform: "ios",
                pushToken: nil,
                userVerification: true,
                extraRootCaPem: caPem,
                resolve: resolve
            )
        )
    }

    /// The 6-digit code of the newest message the dev outbox holds for `to` (GET /dev/outbox,
    /// through scripts/outbox-proxy.py: URLSession on Linux cannot trust the test CA).
    static func lastCode(to: String) async throws -> String {
        guard let proxy = ProcessInfo.processInfo.environment["AUTHCORE_TEST_OUTBOX"] else {
            fatalError("AUTHCORE_TEST_OUTBOX is not set: run scripts/test-swift.sh")
        }
        var query = URLComponents(string: proxy + "/dev/outbox")!
        query.queryItems = [URLQueryItem(name: "to", value: to)]
        let (data, response) = try await URLSession.shared.data(from: query.url!)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard status == 200, let body = String(data: data, encoding: .utf8) else {
            throw TestFailure("GET /dev/outbox answered \(status)")
        }
        let pattern = try NSRegularExpression(pattern: "code is (\\d{6})")
        let range = NSRange(body.startIndex..., in: body)
        guard let match = pattern.matches(in: body, range: range).last,
              let code = Range(match.range(at: 1), in: body) else {
            throw TestFailure("no code in the outbox for \(to)")
        }
        return String(body[code])
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
