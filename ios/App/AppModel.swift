#if os(iOS)
import Authcore
import AuthcorePlatform
import Foundation
import SwiftUI

/// The one object the screens talk to: the core's handles, the current sign-in state, the
/// message of the last typed error. Every method is one gesture, forwarded to the core.
@MainActor
final class AppModel: ObservableObject {
    static let shared = AppModel()

    /// The identity server (Info.plist `AuthcoreServerURL`).
    let serverURL = Bundle.main.object(forInfoDictionaryKey: "AuthcoreServerURL") as? String ?? "https://id.example.com"
    let clientId = "authcore-demo-app"

    @Published var state: SignInState = .enterIdentifier
    @Published var error: String?
    @Published var accounts: [Account] = []
    @Published var approval: ApprovalRequest?
    var pushToken: String?

    private let store = KeychainStore()
    private let keys = SecureEnclaveKeys()
    private lazy var client: AuthClient? = try? AuthClient(
        config: ClientConfig(serverUrl: serverURL, clientId: clientId, extraRootCaPem: nil, resolve: [:]), store: store
    )
    private(set) lazy var authenticator: Authenticator? = try? Authenticator(
        store: store, keys: keys, verification: DeviceOwnerVerification(keys: keys),
        config: AuthenticatorConfig(deviceName: UIDevice.current.name, platform: "ios", pushToken: pushToken,
                                    userVerification: true, extraRootCaPem: nil, resolve: [:])
    )
    private var flow: SignInFlow?
    private var waiting: Task<Void, Never>?

    init() {
        initLogger(logger: OSLogLogger(), level: .info)
    }

    // MARK: sign-in gestures

    func start(_ identifier: String) {
        guard let client else { return }
        let flow = client.signIn()
        self.flow = flow
        gesture { try await flow.start(identifier: identifier) }
    }

    func choose(_ method: SignInMethod) { gesture { try await self.flow?.chooseMethod(method: method) } }
    func submit(password: String) { gesture { try await self.flow?.submitPassword(password: password) } }
    func submit(code: String) { gesture { try await self.flow?.submitCode(code: code) } }
    func resendCode() { gesture { try await self.flow?.resendCode() } }
    func resendPush() { gesture { try await self.flow?.resendPush() } }
    func skipEnrollment() { gesture { try await self.flow?.skipEnrollment() } }
    func enrollAuthenticator() { gesture { try await self.flow?.enrollAuthenticator() } }
    func back() { gesture { try await self.flow?.back() } }
    func choose(secondFactor: SecondFactor) { gesture { try await self.flow?.chooseSecondFactor(factor: secondFactor) } }
    func choose(newPassword: String) { gesture { try await self.flow?.chooseNewPassword(password: newPassword) } }

    func signedOut() {
        flow = nil
        state = .enterIdentifier
    }

    /// Leaving a waiting screen cancels the wait (the Rust future is dropped).
    func stopWaiting() {
        waiting?.cancel()
        waiting = nil
    }

    private func gesture(_ action: @escaping () async throws -> SignInState?) {
        stopWaiting()
        Task {
            do {
                if let next = try await action() { show(next) }
            } catch {
                self.error = (error as? LocalizedError)?.errorDescription ?? String(describing: error)
            }
        }
    }

    private func show(_ next: SignInState) {
        state = next
        error = nil
        switch next {
        case .approvePush, .activateAuthenticator, .approveTestPush:
            // The screen shows the number or the QR code; the core waits for the phone.
            waiting = Task { [weak self] in
                do {
                    if let next = try await self?.flow?.waitForPhone() { self?.show(next) }
                } catch is CancellationError {
                } catch {
                    self?.error = String(describing: error)
                }
            }
        default: break
        }
    }

    // MARK: authenticator gestures

    func refreshAccounts() { accounts = authenticator?.accounts() ?? [] }

    func codes(at date: Date) -> [AccountCode] { authenticator?.codes(now: UInt64(date.timeIntervalSince1970)) ?? [] }

    func scanned(_ payload: String) async {
        do {
            _ = try await authenticator?.addFromQr(payload: payload)
            refreshAccounts()
            await checkApprovals()
        } catch { self.error = String(describing: error) }
    }

    func activateManually(code: String, serverURL: String) async {
        do {
            _ = try await authenticator?.activateManually(activationCode: code, serverUrl: serverURL)
            refreshAccounts()
            await checkApprovals()
        } catch { self.error = String(describing: error) }
    }

    func checkApprovals() async {
        approval = (try? await authenticator?.pendingApprovals(waitSeconds: 0))?.first
    }

    func approve(_ request: ApprovalRequest, number: String) async -> Bool {
        do {
            try await authenticator?.approve(requestId: request.id, number: number)
            approval = nil
            return true
        } catch {
            self.error = String(describing: error)
            return false
        }
    }

    func deny(_ request: ApprovalRequest, fraud: Bool) async {
        do {
            if fraud { try await authenticator?.reportFraud(requestId: request.id) } else { try await authenticator?.deny(requestId: request.id) }
            approval = nil
        } catch { self.error = String(describing: error) }
    }

    func received(push userInfo: [AnyHashable: Any]) async -> Bool {
        guard let authenticator, let request = try? await PushPayload.handle(userInfo, with: authenticator) else { return false }
        approval = request
        return true
    }
}
#endif
