#if canImport(LocalAuthentication)
import Authcore
import Foundation
import LocalAuthentication

/// `UserVerification` with LocalAuthentication: Face ID / Touch ID, falling back to the device
/// passcode. The core calls it before it signs an approval; `false` sends nothing.
public final class DeviceOwnerVerification: UserVerification, @unchecked Sendable {
    /// The device keys that sign right after this prompt: they get the evaluated context, so
    /// their `.userPresence` key does not prompt a second time.
    private let keys: SecureEnclaveKeys?

    public init(keys: SecureEnclaveKeys? = nil) {
        self.keys = keys
    }

    public func verifyUser(reason: String) async -> Bool {
        let context = LAContext()
        var error: NSError?
        guard context.canEvaluatePolicy(.deviceOwnerAuthentication, error: &error) else { return false }
        let verified = (try? await context.evaluatePolicy(.deviceOwnerAuthentication, localizedReason: reason)) ?? false
        if verified { keys?.authenticationContext = context }
        return verified
    }
}
#endif
