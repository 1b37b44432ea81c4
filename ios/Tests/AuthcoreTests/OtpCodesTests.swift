import Authcore
import AuthcorePlatform
import Foundation
import XCTest

final class OtpCodesTests: XCTestCase {
    /// RFC 6238 appendix B: the SHA-1 seed "12345678901234567890", 8 digits, 30 s steps.
    private let rfcUri = "otpauth://totp/RFC6238:test?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=8&issuer=RFC6238"

    func testTheCodesOfAScannedOtpauthUriAreRfc6238sTestVectors() async throws {
        let phone = try TestServer.newPhone("Codes phone", keys: SoftwareBackedKeys(), fingerprint: Fingerprint())
        let added = try await phone.addFromQr(payload: rfcUri)
        guard case let .otp(`import`) = added else { return XCTFail("\(added)") }
        XCTAssertEqual(`import`.added.count, 1)
        guard case let .otp(account)? = phone.accounts().first, phone.accounts().count == 1 else {
            return XCTFail("\(phone.accounts())")
        }
        XCTAssertEqual(account.issuer, "RFC6238")
        XCTAssertEqual(account.name, "test")
        XCTAssertEqual(account.kind, .totp(period: 30))
        XCTAssertEqual(account.digits, 8)

        for (time, expected) in [(59, "94287082"), (1_111_111_109, "07081804"), (1_234_567_890, "89005924"),
                                 (2_000_000_000, "69279037")] as [(UInt64, String)] {
            XCTAssertEqual(phone.codes(now: Date(timeIntervalSince1970: Double(time))).map(\.code), [expected], "code at \(time)")
        }
        XCTAssertEqual(phone.codes(now: Date(timeIntervalSince1970: 59)).first?.secondsLeft, 1)
    }

    func testTheCodesEqualAnIndependentSwiftTotpRightNow() async throws {
        var secret = [UInt8](repeating: 0, count: 20)
        var generator = SystemRandomNumberGenerator()
        for i in secret.indices { secret[i] = generator.next() }
        let phone = try TestServer.newPhone("Codes phone", keys: SoftwareBackedKeys(), fingerprint: Fingerprint())
        _ = try await phone.addFromQr(payload: "otpauth://totp/Acme:alice@acme.example?secret=\(base32(secret))&issuer=Acme")
        let now = Date()
        XCTAssertEqual(phone.codes(now: now).map(\.code), [totp(secret, now: UInt64(now.timeIntervalSince1970), digits: 6)])
    }

    func testTheSwiftTotpMatchesRfc6238() {
        let seed = Array("12345678901234567890".utf8)
        XCTAssertEqual(totp(seed, now: 59, digits: 8), "94287082")
        XCTAssertEqual(totp(seed, now: 1_111_111_109, digits: 8), "07081804")
    }

    func testAQrCodeThatIsNotAnAuthenticatorCodeIsInvalidQr() async throws {
        let phone = try TestServer.newPhone("Codes phone", keys: SoftwareBackedKeys(), fingerprint: Fingerprint())
        let error = await assertThrows(AuthenticatorError.self) { _ = try await phone.addFromQr(payload: "https://example.com/not-a-code") }
        guard case .InvalidQr? = error else { return XCTFail("got \(String(describing: error))") }
        XCTAssertEqual(phone.accounts().count, 0)
    }

    func testTheSecureEnclaveSpkiHeaderWrapsAnX963Point() throws {
        let keys = SoftwareBackedKeys()
        let spki = try keys.generate(alias: "a")
        XCTAssertEqual(spki.count, 91)
        XCTAssertEqual(Array(spki.prefix(26)), P256PublicKey.spkiHeader)
        let point = try XCTUnwrap(P256PublicKey.x963(spki: spki))
        XCTAssertEqual(P256PublicKey.spki(x963: point), spki)
        XCTAssertNil(P256PublicKey.spki(x963: point.dropFirst()))
        XCTAssertThrowsError(try keys.generate(alias: "a")) { XCTAssertEqual($0 as? DeviceKeyError, .AlreadyExists) }
        XCTAssertThrowsError(try keys.sign(alias: "b", message: Data())) { XCTAssertEqual($0 as? DeviceKeyError, .UnknownKey) }
    }

    // RFC 6238 TOTP with HMAC-SHA1 written out here (SHA-1 per FIPS 180-4), independent of the core.
    private func totp(_ secret: [UInt8], now: UInt64, digits: Int) -> String {
        let counter = now / 30
        let message = (0..<8).map { UInt8(truncatingIfNeeded: counter >> (56 - 8 * $0)) }
        let hash = hmacSha1(key: secret, message: message)
        let offset = Int(hash[19] & 0x0f)
        let binary = (UInt32(hash[offset] & 0x7f) << 24) | (UInt32(hash[offset + 1]) << 16)
            | (UInt32(hash[offset + 2]) << 8) | UInt32(hash[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let code = String(binary % modulus)
        return String(repeating: "0", count: digits - code.count) + code
    }

    private func hmacSha1(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var key = key.count > 64 ? sha1(key) : key
        key += [UInt8](repeating: 0, count: 64 - key.count)
        let inner = sha1(key.map { $0 ^ 0x36 } + message)
        return sha1(key.map { $0 ^ 0x5c } + inner)
    }

    private func sha1(_ data: [UInt8]) -> [UInt8] {
        var h: [UInt32] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0]
        var message = data + [0x80]
        while message.count % 64 != 56 { message.append(0) }
        let bits = UInt64(data.count) * 8
        message += (0..<8).map { UInt8(truncatingIfNeeded: bits >> (56 - 8 * $0)) }
        for chunk in stride(from: 0, to: message.count, by: 64) {
            var w = (0..<16).map { i -> UInt32 in
                let b = message[(chunk + 4 * i)..<(chunk + 4 * i + 4)].map(UInt32.init)
                return (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]
            }
            for i in 16..<80 {
                let x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]
                w.append((x << 1) | (x >> 31))
            }
            var (a, b, c, d, e) = (h[0], h[1], h[2], h[3], h[4])
            for i in 0..<80 {
                let (f, k): (UInt32, UInt32)
                switch i {
                case 0..<20: (f, k) = ((b & c) | (~b & d), 0x5A82_7999)
                case 20..<40: (f, k) = (b ^ c ^ d, 0x6ED9_EBA1)
                case 40..<60: (f, k) = ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC)
                default: (f, k) = (b ^ c ^ d, 0xCA62_C1D6)
                }
                let t = ((a << 5) | (a >> 27)) &+ f &+ e &+ k &+ w[i]
                (e, d, c, b, a) = (d, c, (b << 30) | (b >> 2), a, t)
            }
            h[0] = h[0] &+ a; h[1] = h[1] &+ b; h[2] = h[2] &+ c; h[3] = h[3] &+ d; h[4] = h[4] &+ e
        }
        return h.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } }
    }

    private func base32(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var out = "", buffer = 0, bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | Int(byte)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return out
    }
}
