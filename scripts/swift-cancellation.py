#!/usr/bin/env python3
"""Makes the generated Swift bindings honour Task cancellation (run by scripts/bindings.sh).

uniffi 0.32's Swift template awaits a Rust future with a plain `withUnsafeContinuation` poll loop:
cancelling the Swift Task changes nothing, the call runs to its natural end (for
`waitForPhone()` the push's expiry, for `pendingApprovals(waitSeconds:)` the long-poll). Kotlin's
template does cancel. Upstream: mozilla/uniffi-rs#2771 (open), #2887 (proposed opt-in).

This rewrites `uniffiRustCallAsync` so that, for functions that already throw (those with an
`errorHandler`), a cancelled Task resumes the pending poll at once and throws `CancellationError`;
the `defer { freeFunc(rustFuture) }` then frees the Rust future, which drops it, and dropping it
aborts the work on authcore's runtime (bindings/src/runtime.rs), exactly as a cancelled Kotlin
coroutine does. Non-throwing async functions (`SignInFlow.cancel()`, `serverUrl()`) are short and
keep the original behaviour (they could not report a CancellationError).

Fails loudly when the template no longer matches (a uniffi upgrade): re-check then.
"""
import sys

OLD_LOOP = """    var pollResult: Int8;
    repeat {
        pollResult = await withUnsafeContinuation {
            pollFunc(
                rustFuture,
                { handle, pollResult in
                    uniffiFutureContinuationCallback(handle: handle, pollResult: pollResult)
                },
                uniffiContinuationHandleMap.insert(obj: $0)
            )
        }
    } while pollResult != UNIFFI_RUST_FUTURE_POLL_READY
"""

NEW_LOOP = """    var pollResult: Int8;
    // authcore (scripts/swift-cancellation.py): a cancelled Task stops waiting and frees the
    // Rust future, which drops it (only for throwing functions: they report CancellationError).
    let cancellable = errorHandler != nil
    repeat {
        if cancellable && Task.isCancelled {
            throw CancellationError()
        }
        let pending = UniffiPendingPoll()
        pollResult = await withTaskCancellationHandler {
            await withUnsafeContinuation { continuation in
                let handle = uniffiContinuationHandleMap.insert(obj: continuation)
                pending.set(handle)
                if cancellable && Task.isCancelled {
                    pending.wake()
                    return
                }
                pollFunc(
                    rustFuture,
                    { handle, pollResult in
                        uniffiFutureContinuationCallback(handle: handle, pollResult: pollResult)
                    },
                    handle
                )
            }
        } onCancel: {
            if cancellable {
                pending.wake()
            }
        }
    } while pollResult != UNIFFI_RUST_FUTURE_POLL_READY
"""

OLD_CALLBACK = """    if let continuation = try? uniffiContinuationHandleMap.remove(handle: handle) {
        continuation.resume(returning: pollResult)
    } else {
        print("uniffiFutureContinuationCallback invalid handle")
    }
}
"""

NEW_CALLBACK = """    if let continuation = try? uniffiContinuationHandleMap.remove(handle: handle) {
        continuation.resume(returning: pollResult)
    }
    // else: the Task was cancelled and UniffiPendingPoll.wake() resumed it already.
}

/// The poll a Task waits on, so that cancellation can resume it (authcore,
/// scripts/swift-cancellation.py). Whoever removes the continuation from the handle map first
/// (Rust's wake-up or the cancellation) resumes it, exactly once.
fileprivate final class UniffiPendingPoll: @unchecked Sendable {
    private let lock = NSLock()
    private var handle: UInt64?

    func set(_ handle: UInt64) {
        lock.lock()
        self.handle = handle
        lock.unlock()
    }

    func wake() {
        lock.lock()
        let handle = self.handle
        lock.unlock()
        if let handle, let continuation = try? uniffiContinuationHandleMap.remove(handle: handle) {
            continuation.resume(returning: UNIFFI_RUST_FUTURE_POLL_WAKE)
        }
    }
}
"""


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: swift-cancellation.py <Authcore.swift>", file=sys.stderr)
        return 2
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for old, name in ((OLD_LOOP, "uniffiRustCallAsync poll loop"), (OLD_CALLBACK, "uniffiFutureContinuationCallback")):
        if text.count(old) != 1:
            print(f"swift-cancellation: the generated {name} is not the one this patch knows "
                  f"(uniffi upgraded?): update scripts/swift-cancellation.py", file=sys.stderr)
            return 1
    text = text.replace(OLD_LOOP, NEW_LOOP).replace(OLD_CALLBACK, NEW_CALLBACK)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
