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

extension TestServer {
    /// `GET /v1/devices/challenges` signed by `deviceId`'s key as an app from before number
    /// matching sends it: no `Authcore-Protocol-Version` header (docs/protocol.md, "Signed device
    /// requests"), through scripts/outbox-proxy.py. Answers the status and the body.
    static func fetchAsAnOldApp(deviceId: String, sign: (Data) throws -> Data) async throws -> (Int, String) {
        guard let proxy = ProcessInfo.processInfo.environment["AUTHCORE_TEST_OUTBOX"] else {
            fatalError("AUTHCORE_TEST_OUTBOX is not set: run scripts/test-swift.sh")
        }
        func base64url(_ data: Data) -> String {
            data.base64EncodedString()
                .replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        let path = "/v1/devices/challenges"
        let timestamp = String(Int(Date().timeIntervalSince1970))
        let nonce = base64url(Data((0..<16).map { _ in UInt8.random(in: 0...255) }))
        let emptyBody = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU" // SHA-256 of no bytes, base64url
        let message = ["AUTHCORE-DEVICE-REQUEST-V1", "GET", path, emptyBody, timestamp, nonce, deviceId]
            .joined(separator: "\n")
        var request = URLRequest(url: URL(string: proxy + path)!)
        request.setValue(deviceId, forHTTPHeaderField: "Authcore-Device-Id")
        request.setValue(timestamp, forHTTPHeaderField: "Authcore-Timestamp")
        request.setValue(nonce, forHTTPHeaderField: "Authcore-Nonce")
        request.setValue(base64url(try sign(Data(message.utf8))), forHTTPHeaderField: "Authcore-Signature")
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
