import Authcore
import Foundation

/// APNs forwarding: a remote notification's `userInfo` as the string map the core's
/// `Authenticator.handlePushPayload` takes (`device_id`, `request_id`). The push only wakes the
/// app: the core fetches the request itself over TLS. Plain Swift (tested on Linux too).
public enum PushPayload {
    /// Every top-level string (or number) entry except `aps`.
    public static func data(from userInfo: [AnyHashable: Any]) -> [String: String] {
        var data: [String: String] = [:]
        for (key, value) in userInfo {
            guard let key = key as? String, key != "aps" else { continue }
            switch value {
            case let text as String: data[key] = text
            case let number as NSNumber: data[key] = number.stringValue
            default: continue
            }
        }
        return data
    }

    /// The request a notification announces, fetched by the core; `nil` when it was already
    /// answered or expired.
    public static func handle(_ userInfo: [AnyHashable: Any], with authenticator: Authenticator) async throws -> ApprovalRequest? {
        try await authenticator.handlePushPayload(payload: data(from: userInfo))
    }
}
