#if canImport(LocalAuthentication)
import Authcore
import Foundation
import LocalAuthentication

/// `UserVerification` with LocalAuthentication: Face ID / Touch ID, falling back to the device
/// passcode. The core calls it before it signs an approval; `false` sends nothing.
public final class DeviceOwnerVerification: UserVerification, @unchecked Sendable {
    public init() {}

    public func verifyUser(reason: String) async -> Bool {
        let context = LAContext()
        var error: NSError?
        guard context.canEvaluatePolicy(.deviceOwnerAuthentication, error: &error) else { return false }
        return (try? await context.evaluatePolicy(.deviceOwnerAuthentication, localizedReason: reason)) ?? false
    }
}
#endif
