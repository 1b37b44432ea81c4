import Authcore
import Foundation

/// How `Authenticator.approvalRequests` asks the server.
public struct ApprovalPolling: Sendable {
    /// A setting outside its range; `message` says which.
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// Each long-poll waits this long on the server when nothing is pending (1 to 30 s).
    public let waitSeconds: UInt32
    /// While a request already yielded is still pending the server answers at once; the next
    /// question then waits this long, so an unanswered request does not make the stream spin.
    public let repeatDelay: Duration
    /// The pause after the first transient failure; it doubles with each further one.
    public let firstBackoff: Duration
    /// The longest pause between two failing questions.
    public let maxBackoff: Duration

    public static let standard = ApprovalPolling(checked: 30, .seconds(2), .seconds(1), .seconds(60))

    public init(
        waitSeconds: UInt32 = 30,
        repeatDelay: Duration = .seconds(2),
        firstBackoff: Duration = .seconds(1),
        maxBackoff: Duration = .seconds(60)
    ) throws {
        guard (1...30).contains(waitSeconds) else { throw Invalid(description: "waitSeconds is 1 to 30") }
        guard repeatDelay > .zero, firstBackoff > .zero else { throw Invalid(description: "the delays are positive") }
        guard maxBackoff >= firstBackoff else { throw Invalid(description: "maxBackoff is at least firstBackoff") }
        self.init(checked: waitSeconds, repeatDelay, firstBackoff, maxBackoff)
    }

    private init(checked waitSeconds: UInt32, _ repeatDelay: Duration, _ firstBackoff: Duration, _ maxBackoff: Duration) {
        self.waitSeconds = waitSeconds
        self.repeatDelay = repeatDelay
        self.firstBackoff = firstBackoff
        self.maxBackoff = maxBackoff
    }

    /// The pause after `failures` transient failures in a row (at least what a rate limit asks).
    func backoff(after failures: Int, _ error: AuthenticatorError) -> Duration {
        let doubled = firstBackoff * (1 << min(failures - 1, 20))
        let pause = min(doubled, maxBackoff)
        if case let .RateLimited(retryAfterSeconds) = error {
            return max(pause, .seconds(Int64(clamping: retryAfterSeconds)))
        }
        return pause
    }
}

public extension AuthenticatorError {
    /// A failure that asking again later can cure: the network, a timeout, a server error or an
    /// unreadable answer, rate limiting.
    var isTransient: Bool {
        switch self {
        case .Network, .Timeout, .Server, .Protocol, .RateLimited: return true
        default: return false
        }
    }
}

public extension Authenticator {
    /// The sign-ins waiting for this phone, each yielded once, over `pendingApprovals(waitSeconds:)`:
    /// the long-poll waits on the server, and the stream asks again as soon as it answers, for as
    /// long as it is iterated. Cancelling the iterating task (or leaving the loop) cancels the
    /// long-poll in flight (the Rust future is dropped) and asks nothing more.
    ///
    /// A request is yielded the first time an answer holds it and not again while it stays
    /// pending; it is forgotten once an answer no longer holds it (answered, denied, expired).
    ///
    /// Failures: a transient one (`isTransient`) waits and asks again, `firstBackoff` doubling up
    /// to `maxBackoff` (at least `retryAfterSeconds` when rate limited); the pause resets after an
    /// answer. Any other error is permanent (an untrusted certificate, this app must be updated,
    /// the phone was removed, the store or the device key is unavailable...): asking again cannot
    /// help, so the stream finishes by throwing it; the app shows it and iterates a new stream
    /// once the user has acted.
    func approvalRequests(polling: ApprovalPolling = .standard) -> AsyncThrowingStream<ApprovalRequest, Error> {
        AuthcorePlatform.approvalRequests(polling: polling) { [self] wait in
            try await self.pendingApprovals(waitSeconds: wait)
        }
    }
}

/// `Authenticator.approvalRequests` over any `fetch` with the shape of `pendingApprovals`, pausing
/// with `sleep`. For wrapping the call (metrics, tests); an app uses the method.
public func approvalRequests(
    polling: ApprovalPolling = .standard,
    sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
    fetch: @escaping @Sendable (UInt32) async throws -> [ApprovalRequest]
) -> AsyncThrowingStream<ApprovalRequest, Error> {
    AsyncThrowingStream { continuation in
        let task = Task {
            var yielded = Set<[String]>()
            var failures = 0
            do {
                while true {
                    try Task.checkCancellation()
                    let answer: [ApprovalRequest]
                    do {
                        answer = try await fetch(polling.waitSeconds)
                    } catch let error as AuthenticatorError where error.isTransient {
                        failures += 1
                        try await sleep(polling.backoff(after: failures, error))
                        continue
                    }
                    failures = 0
                    let fresh = answer.filter { !yielded.contains([$0.account, $0.id]) }
                    yielded = Set(answer.map { [$0.account, $0.id] })
                    for request in fresh { continuation.yield(request) }
                    if !answer.isEmpty && fresh.isEmpty { try await sleep(polling.repeatDelay) }
                }
            } catch is CancellationError {
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
    }
}
