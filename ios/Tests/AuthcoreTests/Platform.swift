import Authcore
import AuthcorePlatform
import Foundation

/// The app's SecureStore, in memory (the Keychain on a phone: AuthcorePlatform.KeychainStore).
final class MemoryStore: SecureStore, @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: Data] = [:]

    func get(key: String) throws -> Data? {
        lock.lock(); defer { lock.unlock() }
        return entries[key]
    }

    func put(key: String, value: Data) throws {
        lock.lock(); defer { lock.unlock() }
        entries[key] = value
    }

    func delete(key: String) throws {
        lock.lock(); defer { lock.unlock() }
        entries[key] = nil
    }

    func list() throws -> [String] {
        lock.lock(); defer { lock.unlock() }
        return entries.keys.sorted()
    }
}

/// Device keys for the Linux suite. There is no CryptoKit or Secure Enclave on Linux and the
/// package may not fetch swift-crypto from GitHub, so the P-256 arithmetic is the bindings'
/// software keys (`softwareDeviceKeys`, ring), whose private keys live in a Swift `MemoryStore`.
/// The Swift side does what the Secure Enclave adapter does around the hardware: it hands out
/// the SPKI it builds itself from the X9.63 point (`P256PublicKey.spki(x963:)`, the code
/// `SecureEnclaveKeys` uses), keeps the alias list and counts signatures; every call comes from
/// Rust through the foreign-trait path, as on a phone.
final class SoftwareBackedKeys: DeviceKeys, @unchecked Sendable {
    let store: MemoryStore
    private let software: DeviceKeys
    private let lock = NSLock()
    private var signed = 0
    private var known: Set<String> = []

    init() {
        let store = MemoryStore()
        self.store = store
        software = softwareDeviceKeys(store: store)
    }

    var signatures: Int { lock.lock(); defer { lock.unlock() }; return signed }
    var aliases: Set<String> { lock.lock(); defer { lock.unlock() }; return known }

    func generate(alias: String) throws -> Data {
        let spki = try rewrap(software.generate(alias: alias))
        lock.lock(); known.insert(alias); lock.unlock()
        return spki
    }

    func publicKey(alias: String) throws -> Data {
        try rewrap(software.publicKey(alias: alias))
    }

    func sign(alias: String, message: Data) throws -> Data {
        let signature = try software.sign(alias: alias, message: message)
        lock.lock(); signed += 1; lock.unlock()
        return signature
    }

    func delete(alias: String) throws {
        try software.delete(alias: alias)
        lock.lock(); known.remove(alias); lock.unlock()
    }

    /// Software keys prove nothing about where they live: no attestation.
    func attestation(alias: String, challenge: Data) throws -> DeviceAttestation? {
        nil
    }

    /// SPKI -> X9.63 point -> SPKI again through the Swift code the Secure Enclave adapter uses.
    private func rewrap(_ spki: Data) throws -> Data {
        guard let point = P256PublicKey.x963(spki: spki), let again = P256PublicKey.spki(x963: point) else {
            throw DeviceKeyError.Unavailable
        }
        return again
    }
}

/// The biometric prompt: answers after a short while (async, as LocalAuthentication does).
final class Fingerprint: UserVerification, @unchecked Sendable {
    private let accept: Bool
    private let lock = NSLock()
    private var reasons: [String] = []
    private var crash = false

    init(accept: Bool = true) { self.accept = accept }

    /// The prompt crashes (an app bug) instead of answering.
    var throwsInstead: Bool {
        get { lock.lock(); defer { lock.unlock() }; return crash }
        set { lock.lock(); crash = newValue; lock.unlock() }
    }

    struct PromptCrashed: Error {}

    var asked: [String] { lock.lock(); defer { lock.unlock() }; return reasons }

    private func record(_ reason: String) {
        lock.lock(); reasons.append(reason); lock.unlock()
    }

    func verifyUser(reason: String) async throws -> Bool {
        record(reason)
        try? await Task.sleep(nanoseconds: 20_000_000)
        if throwsInstead { throw PromptCrashed() }
        return accept
    }
}
