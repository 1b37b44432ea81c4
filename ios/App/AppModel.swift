#if os(iOS)
import Authcore
import AuthcorePlatform
import Foundation
import SwiftUI

/// The one object the screens talk to: the core's handles, the current sign-in state, the
/// message of the last typed error. Every method is one gesture, forwarded to the core; the
/// screens follow the core's streams (`SignInFlow.states()`, `Authenticator.approvalRequests()`),
/// never a polling loop.
@MainActor
final class AppModel: ObservableObject {
    static let shared = AppModel()

    /// The identity server (Info.plist `AuthcoreServerURL`).
    let serverURL = Bundle.main.object(forInfoDictionaryKey: "AuthcoreServerURL") as? String ?? "https://id.example.com"
    let clientId = "authcore-demo-app"

    @Published var state: SignInState = .enterIdentifier
    @Published var error: String?
    @Published var accounts: [Account] = []
    /// The request the approval sheet shows; the others wait in `queued`.
    @Published var approval: ApprovalRequest?
    /// False after a permanent error ended the approvals stream ("Try again" restarts it).
    @Published var listening = false

    /// Approvals need Face ID / Touch ID / the passcode: checked before signing, and by the key.
    private let userVerification = true
    private let store = KeychainStore()
    private lazy var keys = SecureEnclaveKeys(userPresence: userVerification)
    private lazy var client: AuthClient? = try? AuthClient(
        config: ClientConfig(serverUrl: serverURL, clientId: clientId, extraRootCaPem: nil, resolve: [:]), store: store
    )
    /// Built on first use; the APNs token reaches it (and every push account) by `updatePushToken`.
    private(set) lazy var authenticator: Authenticator? = try? Authenticator(
        store: store, keys: keys, verification: DeviceOwnerVerification(keys: keys),
        config: AuthenticatorConfig(deviceName: UIDevice.current.name, platform: "ios", pushToken: nil,
                                    userVerification: userVerification, extraRootCaPem: nil, resolve: [:])
    )
    private var flow: SignInFlow?
    private var following: Task<Void, Never>?
    private var waiting: Task<Void, Never>?
    private var approvals: Task<Void, Never>?
    private var queued: [ApprovalRequest] = []

    init() {
        initLogger(logger: OSLogLogger(), level: .info)
    }

    /// At launch: the session an earlier sign-in saved, if any (read off the main actor: the
    /// Keychain is read), and the approvals stream.
    func launched() {
        let client = client
        Task {
            let saved = await Task.detached { try? client?.savedSession() }.value
            if let saved, case .enterIdentifier = state { state = .done(session: saved) }
        }
        listenForApprovals()
    }

    // MARK: sign-in gestures

    func start(_ identifier: String) {
        guard let client else { return }
        let flow = client.signIn()
        self.flow = flow
        follow(flow)
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
        stopWaiting()
        following?.cancel()
        flow = nil
        state = .enterIdentifier
    }

    /// Leaving a waiting screen cancels the wait (the Rust future is dropped).
    func stopWaiting() {
        waiting?.cancel()
        waiting = nil
    }

    /// The flow's screens, from its stream; a phone screen starts the wait for the phone.
    private func follow(_ flow: SignInFlow) {
        following?.cancel()
        following = Task { [weak self] in
            for await next in flow.states() {
                self?.show(next)
            }
        }
    }

    /// One gesture; its new state arrives through the stream, its typed error is shown here.
    private func gesture(_ action: @escaping () async throws -> SignInState?) {
        stopWaiting()
        error = nil
        Task {
            do {
                _ = try await action()
            } catch {
                self.error = (error as? LocalizedError)?.errorDescription ?? String(describing: error)
            }
        }
    }

    private func show(_ next: SignInState) {
        state = next
        switch next {
        case .approvePush, .activateAuthenticator, .approveTestPush:
            // The screen shows the number or the QR code; the core waits for the phone (one
            // long-poll call; its answer arrives through the stream).
            guard waiting == nil else { return }
            waiting = Task { [weak self] in
                do {
                    _ = try await self?.flow?.waitForPhone()
                } catch is CancellationError {
                } catch {
                    self?.error = (error as? LocalizedError)?.errorDescription ?? String(describing: error)
                }
                self?.waiting = nil
            }
        default: break
        }
    }

    // MARK: authenticator gestures

    func refreshAccounts() { accounts = authenticator?.accounts() ?? [] }

    func codes(at date: Date) -> [AccountCode] { authenticator?.codes(now: date) ?? [] }

    /// Collects `approvalRequests()`: each request once, shown one at a time. A permanent error
    /// ("this app must be updated", the phone was removed) ends it and is shown.
    func listenForApprovals() {
        guard approvals == nil, let authenticator else { return }
        listening = true
        approvals = Task { [weak self] in
            do {
                for try await request in authenticator.approvalRequests() {
                    self?.arrived(request)
                }
            } catch is CancellationError {
            } catch {
                self?.error = (error as? LocalizedError)?.errorDescription ?? String(describing: error)
            }
            self?.listening = false
            self?.approvals = nil
        }
    }

    func scanned(_ payload: String) async {
        do {
            _ = try await authenticator?.addFromQr(payload: payload)
            refreshAccounts()
        } catch { self.error = String(describing: error) }
    }

    func activateManually(code: String, serverURL: String) async {
        do {
            _ = try await authenticator?.activateManually(activationCode: code, serverUrl: serverURL)
            refreshAccounts()
        } catch { self.error = String(describing: error) }
    }

    func approve(_ request: ApprovalRequest, number: String) async -> Bool {
        do {
            try await authenticator?.approve(requestId: request.id, number: number)
            answered(request)
            return true
        } catch {
            self.error = String(describing: error)
            return false
        }
    }

    func deny(_ request: ApprovalRequest, fraud: Bool) async {
        do {
            if fraud { try await authenticator?.reportFraud(requestId: request.id) } else { try await authenticator?.deny(requestId: request.id) }
            answered(request)
        } catch { self.error = String(describing: error) }
    }

    /// A notification's data (APNs userInfo: `device_id`, `request_id`): the core fetches that
    /// request over TLS, and the sheet shows it.
    func received(push userInfo: [AnyHashable: Any]) async -> Bool {
        guard let authenticator, let request = try? await PushPayload.handle(userInfo, with: authenticator) else { return false }
        approval = request
        return true
    }

    /// The APNs device token (hex): to every push account's server, and kept for later accounts.
    /// A failure is harmless: iOS hands the token again at the next launch.
    func registered(pushToken: String) async {
        try? await authenticator?.updatePushToken(token: pushToken)
    }

    private func arrived(_ request: ApprovalRequest) {
        guard request.expiresAt > Date() else { return }
        if approval == nil { approval = request } else if approval?.id != request.id { queued.append(request) }
    }

    private func answered(_ request: ApprovalRequest) {
        queued.removeAll { $0.id == request.id }
        if approval?.id == request.id { approval = nil }
    }

    /// The approval sheet closed: the next queued request whose time is not up, if any.
    func showNext() {
        queued.removeAll { $0.expiresAt <= Date() }
        if approval == nil, !queued.isEmpty { approval = queued.removeFirst() }
    }
}
#endif
