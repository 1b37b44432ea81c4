#if canImport(Security)
import Authcore
import CryptoKit
import Foundation
import LocalAuthentication
import Security
#if canImport(DeviceCheck)
import DeviceCheck
#endif

/// `DeviceKeys` in the Secure Enclave: P-256 keys created inside it (`kSecAttrTokenIDSecureEnclave`),
/// found again by application tag, signing with `ecdsaSignatureMessageX962SHA256` (ASN.1 DER, what
/// the server verifies). The private key never leaves the hardware. The public key leaves as an
/// X9.63 point, wrapped here as the SPKI the server wants (`P256PublicKey.spki(x963:)`).
///
/// When the app chose user verification (`userPresence`, as `AuthenticatorConfig.userVerification`),
/// the key itself requires the user's presence to sign (`SecAccessControl` with
/// `.privateKeyUsage` + `.userPresence`: Face ID, Touch ID or the passcode), as the Android
/// Keystore key requires user authentication: a phone thief with the app open cannot sign.
/// Without it the key is `.privateKeyUsage` only. The app's `UserVerification` (LocalAuthentication) runs before the
/// core asks for a signature; hand its evaluated `LAContext` to `authenticationContext` and the
/// Secure Enclave reuses it instead of prompting a second time.
///
/// `attestation` is Apple App Attest: `DCAppAttestService` makes an App Attest key and attests
/// it with `clientDataHash` = SHA-256(challenge ‖ the device key's SPKI), so Apple's certificate
/// vouches for this app on this device and for the device key. Without App Attest (simulator,
/// older iOS, a refusal) there is no attestation and the account approves after a password only.
/// The simulator has no Secure Enclave: there the key is an ordinary Keychain key.
public final class SecureEnclaveKeys: DeviceKeys, @unchecked Sendable {
    private let tagPrefix: String
    /// An `LAContext` the app's `UserVerification` just evaluated (reused by the signing key).
    public var authenticationContext: LAContext?
    private let userPresence: Bool

    /// `userPresence`: keys made from now on need Face ID / Touch ID / the passcode to sign.
    public init(tagPrefix: String = "com.example.authcore.device-key.", userPresence: Bool = true) {
        self.tagPrefix = tagPrefix
        self.userPresence = userPresence
    }

    private func tag(_ alias: String) -> Data { Data((tagPrefix + alias).utf8) }

    public func generate(alias: String) throws -> Data {
        if (try? privateKey(alias)) != nil { throw DeviceKeyError.AlreadyExists }
        guard let access = SecAccessControlCreateWithFlags(
            nil, kSecAttrAccessibleWhenUnlockedThisDeviceOnly,
            userPresence ? [.privateKeyUsage, .userPresence] : [.privateKeyUsage], nil
        ) else { throw DeviceKeyError.Unavailable }
        var attributes: [String: Any] = [
            kSecAttrKeyType as String: kSecAttrKeyTypeECSECPrimeRandom,
            kSecAttrKeySizeInBits as String: 256,
            kSecPrivateKeyAttrs as String: [
                kSecAttrIsPermanent as String: true,
                kSecAttrApplicationTag as String: tag(alias),
                kSecAttrAccessControl as String: access,
            ] as [String: Any],
        ]
        #if !targetEnvironment(simulator)
        attributes[kSecAttrTokenID as String] = kSecAttrTokenIDSecureEnclave
        #endif
        var error: Unmanaged<CFError>?
        guard let key = SecKeyCreateRandomKey(attributes as CFDictionary, &error) else {
            throw DeviceKeyError.Unavailable
        }
        return try spki(of: key)
    }

    public func publicKey(alias: String) throws -> Data {
        try spki(of: privateKey(alias))
    }

    public func sign(alias: String, message: Data) throws -> Data {
        let key = try privateKey(alias)
        var error: Unmanaged<CFError>?
        guard let signature = SecKeyCreateSignature(key, .ecdsaSignatureMessageX962SHA256, message as CFData, &error) else {
            throw DeviceKeyError.Unavailable
        }
        return signature as Data
    }

    public func attestation(alias: String, challenge: Data) throws -> DeviceAttestation? {
        #if canImport(DeviceCheck) && !targetEnvironment(simulator)
        guard #available(iOS 14.0, macOS 11.0, *) else { return nil }
        let service = DCAppAttestService.shared
        guard service.isSupported else { return nil }
        let spki = try publicKey(alias: alias)
        let clientDataHash = Data(SHA256.hash(data: challenge + spki))
        // Called on a core (runtime) thread, never the main thread: waiting here is fine.
        guard let keyId: String = wait({ service.generateKey(completionHandler: $0) }),
              let object: Data = wait({
                  service.attestKey(keyId, clientDataHash: clientDataHash, completionHandler: $0)
              })
        else { return nil }
        return .appleAppAttest(keyId: keyId, object: object)
        #else
        return nil
        #endif
    }

    /// The answer of a completion-handler API, or nil when it failed.
    private func wait<T>(_ call: (@escaping (T?, Error?) -> Void) -> Void) -> T? {
        let done = DispatchSemaphore(value: 0)
        var answer: T?
        call { value, _ in
            answer = value
            done.signal()
        }
        done.wait()
        return answer
    }

    public func delete(alias: String) throws {
        let status = SecItemDelete([
            kSecClass as String: kSecClassKey,
            kSecAttrApplicationTag as String: tag(alias),
        ] as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else { throw DeviceKeyError.Unavailable }
    }

    private func privateKey(_ alias: String) throws -> SecKey {
        var item: CFTypeRef?
        var query: [String: Any] = [
            kSecClass as String: kSecClassKey,
            kSecAttrApplicationTag as String: tag(alias),
            kSecAttrKeyType as String: kSecAttrKeyTypeECSECPrimeRandom,
            kSecReturnRef as String: true,
        ]
        if let context = authenticationContext {
            query[kSecUseAuthenticationContext as String] = context
        }
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        switch status {
        case errSecSuccess: return item as! SecKey // swiftlint:disable:this force_cast (kSecReturnRef)
        case errSecItemNotFound: throw DeviceKeyError.UnknownKey
        default: throw DeviceKeyError.Unavailable
        }
    }

    private func spki(of privateKey: SecKey) throws -> Data {
        var error: Unmanaged<CFError>?
        guard let publicKey = SecKeyCopyPublicKey(privateKey),
              let point = SecKeyCopyExternalRepresentation(publicKey, &error) as Data?,
              let spki = P256PublicKey.spki(x963: point) else {
            throw DeviceKeyError.Unavailable
        }
        return spki
    }
}
#endif
