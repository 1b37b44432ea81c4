#if os(iOS)
import Authcore
import AuthcorePlatform
import SwiftUI
import UIKit
import UserNotifications

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
            .sheet(item: $model.approval, onDismiss: { model.showNext() }) { request in
                ApprovalPromptScreen(request: request).environmentObject(model)
            }
            .task { model.launched() }
        }
    }
}

/// APNs: asks to show alerts, registers for remote notifications and hands the device token to
/// the core (`updatePushToken`: every push account's server, and accounts added later). The
/// server's alert ("Are you trying to sign in?") carries only `device_id` and `request_id`:
/// shown as a banner in the foreground too, its tap (or a background delivery) has the core fetch
/// the request over TLS (`handlePushPayload`) and the approval sheet opens.
final class PushDelegate: NSObject, UIApplicationDelegate, UNUserNotificationCenterDelegate {
    func application(_ application: UIApplication,
                     didFinishLaunchingWithOptions options: [UIApplication.LaunchOptionsKey: Any]? = nil) -> Bool {
        let center = UNUserNotificationCenter.current()
        center.delegate = self // before launch ends, so a tap that launched the app is delivered
        center.requestAuthorization(options: [.alert, .sound, .badge]) { _, _ in
            // Refused: no banners; requests still arrive through the approvals stream while open.
        }
        application.registerForRemoteNotifications()
        return true
    }

    func application(_ application: UIApplication, didRegisterForRemoteNotificationsWithDeviceToken token: Data) {
        let hex = token.map { String(format: "%02x", $0) }.joined()
        Task { await AppModel.shared.registered(pushToken: hex) }
    }

    func application(_ application: UIApplication, didFailToRegisterForRemoteNotificationsWithError error: Error) {
        // No APNs (simulator, no entitlement): the approvals stream still works while the app is open.
    }

    func application(_ application: UIApplication, didReceiveRemoteNotification userInfo: [AnyHashable: Any]) async
        -> UIBackgroundFetchResult {
        await AppModel.shared.received(push: userInfo) ? .newData : .noData
    }

    /// In the foreground: show the banner (the approvals stream opens the sheet as well).
    func userNotificationCenter(_ center: UNUserNotificationCenter,
                                willPresent notification: UNNotification) async -> UNNotificationPresentationOptions {
        [.banner, .list, .sound]
    }

    /// The user tapped the notification: open that request.
    func userNotificationCenter(_ center: UNUserNotificationCenter, didReceive response: UNNotificationResponse) async {
        _ = await AppModel.shared.received(push: response.notification.request.content.userInfo)
    }
}

extension ApprovalRequest: Identifiable {}
#endif
