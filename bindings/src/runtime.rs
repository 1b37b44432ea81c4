//! The one tokio runtime (CONVENTIONS.md 8): built on first use, two workers, never shut down.
//!
//! Every async method exported to Kotlin and Swift runs its core future with [`run`]: the future
//! is spawned here and the foreign side awaits a [`Task`]. When the foreign caller stops waiting
//! (a cancelled coroutine or Swift task), uniffi drops the `Task`, which aborts the spawned
//! future, so the core sees its future dropped exactly as in Rust.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

/// Worker threads: the work is I/O-bound and phones have few cores.
const WORKERS: usize = 2;

pub(crate) fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .thread_name("authcore")
            .enable_all()
            .build()
            // Without a runtime nothing works; uniffi turns this panic into an exception.
            .expect("the authcore runtime starts")
    })
}

/// Runs `future` on the runtime; dropping the answer aborts it.
pub(crate) fn run<F>(future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Task(runtime().spawn(future))
}

/// Runs slow synchronous work (argon2 for backups) on the runtime's blocking pool, off the
/// caller's thread.
pub(crate) fn run_blocking<F, T>(work: F) -> Task<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Task(runtime().spawn_blocking(work))
}

/// A spawned future, aborted when dropped.
pub(crate) struct Task<T>(JoinHandle<T>);

impl<T> Future for Task<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match Pin::new(&mut self.0).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(value)) => Poll::Ready(value),
            // A panic in the core: re-raised here, where uniffi catches it and the foreign side
            // gets an internal error instead of a crash.
            Poll::Ready(Err(error)) if error.is_panic() => {
                std::panic::resume_unwind(error.into_panic())
            }
            // Only `abort()` cancels a task, and only our `Drop` calls it.
            Poll::Ready(Err(_)) => unreachable!("an authcore task was cancelled while awaited"),
        }
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Dropped with the spawned future: tells the test it is gone.
    struct Dropped(Option<tokio::sync::oneshot::Sender<()>>);

    impl Drop for Dropped {
        fn drop(&mut self) {
            if let Some(tx) = self.0.take() {
                let _ = tx.send(());
            }
        }
    }

    #[test]
    fn a_task_answers_its_future_output() {
        let answer = futures_block_on(run(async { 6 * 7 }));
        assert_eq!(answer, 42);
    }

    #[test]
    fn dropping_a_task_drops_the_running_future() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        // Made outside the future: dropped with it even if the abort comes before its first poll.
        let guard = Dropped(Some(tx));
        let task = run(async move {
            let _guard = guard;
            tokio::time::sleep(Duration::from_secs(3600)).await;
        });
        drop(task);
        let dropped =
            runtime().block_on(async { tokio::time::timeout(Duration::from_secs(5), rx).await });
        assert!(matches!(dropped, Ok(Ok(()))), "the future was not dropped");
    }

    #[test]
    fn a_panic_in_the_future_reaches_the_awaiting_caller() {
        let caught = std::panic::catch_unwind(|| {
            futures_block_on(run(async { panic!("core bug") }));
        });
        assert!(caught.is_err());
    }

    /// Awaits a task from a thread outside the runtime, as a foreign caller does.
    fn futures_block_on<T: Send + 'static>(task: Task<T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(task)
    }
}
