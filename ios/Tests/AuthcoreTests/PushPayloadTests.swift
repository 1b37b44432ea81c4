import AuthcorePlatform
import Foundation
import XCTest

final class PushPayloadTests: XCTestCase {
    /// An APNs notification's userInfo becomes the string map handle_push_payload takes; `aps`
    /// (the alert the OS shows) stays out.
    func testAnApnsUserInfoBecomesThePayloadTheCoreTakes() {
        let userInfo: [AnyHashable: Any] = [
            "aps": ["alert": "Sign-in request", "content-available": 1],
            "device_id": "dv_123",
            "request_id": "pr_456",
            "attempt": NSNumber(value: 2),
        ]
        XCTAssertEqual(PushPayload.data(from: userInfo), ["device_id": "dv_123", "request_id": "pr_456", "attempt": "2"])
    }
}
