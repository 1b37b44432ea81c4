#if canImport(Security)
import Authcore
import Foundation
import Security

/// `SecureStore` in the Keychain: one generic-password item per key under `service`, readable
/// only by this app on this device after the first unlock (background pushes need that).
/// `SecItemAdd` / `SecItemUpdate` replace a value atomically.
public final class KeychainStore: SecureStore, @unchecked Sendable {
    private let service: String

    public init(service: String = "authcore") {
        self.service = service
    }

    private func query(_ key: String? = nil) -> [String: Any] {
        var query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecUseDataProtectionKeychain as String: true,
        ]
        if let key { query[kSecAttrAccount as String] = key }
        return query
    }

    public func get(key: String) throws -> Data? {
        var query = query(key)
        query[kSecReturnData as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitOne
        var item: CFTypeRef?
        switch SecItemCopyMatching(query as CFDictionary, &item) {
        case errSecSuccess: return item as? Data
        case errSecItemNotFound: return nil
        default: throw SecureStoreError.Unavailable
        }
    }

    public func put(key: String, value: Data) throws {
        let update = [kSecValueData as String: value] as CFDictionary
        switch SecItemUpdate(query(key) as CFDictionary, update) {
        case errSecSuccess: return
        case errSecItemNotFound:
            var add = query(key)
            add[kSecValueData as String] = value
            add[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
            guard SecItemAdd(add as CFDictionary, nil) == errSecSuccess else { throw SecureStoreError.Unavailable }
        default: throw SecureStoreError.Unavailable
        }
    }

    public func delete(key: String) throws {
        let status = SecItemDelete(query(key) as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else { throw SecureStoreError.Unavailable }
    }

    public func list() throws -> [String] {
        var query = query()
        query[kSecReturnAttributes as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitAll
        var items: CFTypeRef?
        switch SecItemCopyMatching(query as CFDictionary, &items) {
        case errSecSuccess:
            let attributes = items as? [[String: Any]] ?? []
            return attributes.compactMap { $0[kSecAttrAccount as String] as? String }.sorted()
        case errSecItemNotFound: return []
        default: throw SecureStoreError.Unavailable
        }
    }
}
#endif
