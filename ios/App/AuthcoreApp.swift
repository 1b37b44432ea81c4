#if os(iOS)
import Authcore
import AuthcorePlatform
import SwiftUI
import UIKit

/// The app target of the Xcode project (README "Use it from iOS"): sources of ios/App plus the
/// package products Authcore and AuthcorePlatform. Thin: screens render the core's states and
/// call one core method per gesture; the platform glue lives in AuthcorePlatform.
@main
struct AuthcoreApp: App {
    @UIApplicationDelegateAdaptor(PushDelegate.self) private var pushDelegate
    @StateObject private var model = AppModel.shared

    var body: some Scene {
        WindowGroup {
            TabView {
                SignInScreen().tabItem { Label("Sign in", systemImage: "person.badge.key") }
                AccountListScreen().tabItem { Label("Authenticator", systemImage: "lock.shield") }
            }
            .environmentObject(model)
            .sheet(item: $model.approval) { request in
                ApprovalPromptScreen(request: request).environmentObject(model)
            }
        }
    }
}

/// APNs: registers for remote notifications, hands the device token to the core's config and
/// forwards each notification's data to `handlePushPayload` (the request is fetched over TLS).
final class PushDelegate: NSObject, UIApplicationDelegate {
    func application(_ application: UIApplication,
                     didFinishLaunchingWithOptions options: [UIApplication.LaunchOptionsKey: Any]? = nil) -> Bool {
        application.registerForRemoteNotifications()
        return true
    }

    func application(_ application: UIApplication, didRegisterForRemoteNotificationsWithDeviceToken token: Data) {
        AppModel.shared.pushToken = token.map { String(format: "%02x", $0) }.joined()
    }

    func application(_ application: UIApplication, didReceiveRemoteNotification userInfo: [AnyHashable: Any]) async
        -> UIBackgroundFetchResult {
        await AppModel.shared.received(push: userInfo) ? .newData : .noData
    }
}

extension ApprovalRequest: Identifiable {}
#endif
