#if canImport(Security)
import Authcore
import Foundation
import Security

/// `DeviceKeys` in the Secure Enclave: P-256 keys created inside it (`kSecAttrTokenIDSecureEnclave`),
/// found again by application tag, signing with `ecdsaSignatureMessageX962SHA256` (ASN.1 DER, what
/// the server verifies). The private key never leaves the hardware. The public key leaves as an
/// X9.63 point, wrapped here as the SPKI the server wants (`P256PublicKey.spki(x963:)`).
///
/// The person is verified by the app's `UserVerification` (LocalAuthentication) before the core
/// asks for a signature, so the key itself needs no second prompt (`.privateKeyUsage` only).
/// The simulator has no Secure Enclave: there the key is an ordinary Keychain key.
public final class SecureEnclaveKeys: DeviceKeys, @unchecked Sendable {
    private let tagPrefix: String

    public init(tagPrefix: String = "com.example.authcore.device-key.") {
        self.tagPrefix = tagPrefix
    }

    private func tag(_ alias: String) -> Data { Data((tagPrefix + alias).utf8) }

    public func generate(alias: String) throws -> Data {
        if (try? privateKey(alias)) != nil { throw DeviceKeyError.AlreadyExists }
        guard let access = SecAccessControlCreateWithFlags(
            nil, kSecAttrAccessibleWhenUnlockedThisDeviceOnly, .privateKeyUsage, nil
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

    public func delete(alias: String) throws {
        let status = SecItemDelete([
            kSecClass as String: kSecClassKey,
            kSecAttrApplicationTag as String: tag(alias),
        ] as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else { throw DeviceKeyError.Unavailable }
    }

    private func privateKey(_ alias: String) throws -> SecKey {
        var item: CFTypeRef?
        let status = SecItemCopyMatching([
            kSecClass as String: kSecClassKey,
            kSecAttrApplicationTag as String: tag(alias),
            kSecAttrKeyType as String: kSecAttrKeyTypeECSECPrimeRandom,
            kSecReturnRef as String: true,
        ] as CFDictionary, &item)
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
