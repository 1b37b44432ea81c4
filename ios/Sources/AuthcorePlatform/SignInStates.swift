import Authcore
import Foundation

public extension SignInFlow {
    /// The flow's screen as an `AsyncStream`: the state it shows now, then every change the core
    /// tells the flow's `SignInListener` (gestures, waits for the phone, the move to an
    /// organisation's sign-in host), so a view iterates it instead of registering a callback.
    ///
    /// The stream takes the flow's one listener slot: do not also call `setListener`, and keep one
    /// stream per flow (a second replaces the first's listener). Ending the iteration (its task
    /// cancelled, or the loop left) clears the listener. Values arrive from authcore's runtime
    /// threads; hop to the main actor before touching UI state.
    func states() -> AsyncStream<SignInState> {
        AsyncStream { continuation in
            let relay = StateRelay(continuation)
            setListener(listener: relay)
            relay.start(with: state())
            continuation.onTermination = { [weak self] _ in self?.setListener(listener: nil) }
        }
    }
}

/// Hands the listener's states to a stream, after the state read once the listener was set.
private final class StateRelay: SignInListener, @unchecked Sendable {
    private let lock = NSLock()
    private let continuation: AsyncStream<SignInState>.Continuation
    private var started = false

    init(_ continuation: AsyncStream<SignInState>.Continuation) {
        self.continuation = continuation
    }

    /// `current` was read after the listener was set: a change told before it is not newer (the
    /// core stores a state before it tells the listener), so it is dropped, and `current` goes
    /// first.
    func start(with current: SignInState) {
        lock.lock()
        defer { lock.unlock() }
        continuation.yield(current)
        started = true
    }

    func onStateChanged(state: SignInState) {
        lock.lock()
        defer { lock.unlock() }
        if started { continuation.yield(state) }
    }
}
