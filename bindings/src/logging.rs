//! Logs to the app: a foreign [`Logger`] receives the `tracing` records of authcore. Records
//! carry no user data (CONVENTIONS.md 9): no emails, codes, tokens, numbers or secrets.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::Layer as _;
use tracing_subscriber::reload;

use crate::platform::CallbackError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LogRecord {
    pub level: LogLevel,
    /// The Rust module (`authcore_ffi::signin`).
    pub target: String,
    /// The message and its fields (`state changed state=ChooseMethod`).
    pub message: String,
}

/// Implemented by the app (Logcat, os_log). Called on runtime threads; must not block. What it
/// throws is ignored (the record is lost, nothing else).
#[uniffi::export(with_foreign)]
pub trait Logger: Send + Sync {
    fn log(&self, record: LogRecord) -> Result<(), CallbackError>;
}

static LOGGER: RwLock<Option<Arc<dyn Logger>>> = RwLock::new(None);
/// The level filter in front of [`ForeignSubscriber`], replaced by each `init_logger`
/// (`tracing-subscriber`'s reload, which also asks every log statement again whether it is on).
static LEVEL: OnceLock<reload::Handle<LevelFilter, ForeignSubscriber>> = OnceLock::new();

/// Sends authcore's logs at `level` and above to `logger`. Call once at app start; a later call
/// replaces the logger and the level, more or less verbose, from its next record on.
#[uniffi::export]
pub fn init_logger(logger: Arc<dyn Logger>, level: LogLevel) {
    *LOGGER.write().unwrap_or_else(|p| p.into_inner()) = Some(logger);
    let filter = match level {
        LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Trace => LevelFilter::TRACE,
    };
    let mut installed = false;
    let handle = LEVEL.get_or_init(|| {
        installed = true;
        let (layer, handle) = reload::Layer::new(filter);
        // Fails only when the process already has a global subscriber (a Rust host app): then
        // that one receives the records.
        let _ = tracing::subscriber::set_global_default(
            layer.with_subscriber(ForeignSubscriber::default()),
        );
        handle
    });
    if !installed {
        // Also rebuilds the statements' cached interest, so one first reached at a less verbose
        // level is asked again.
        let _ = handle.reload(filter);
    }
}

fn level_of(level: &Level) -> LogLevel {
    match *level {
        Level::ERROR => LogLevel::Error,
        Level::WARN => LogLevel::Warn,
        Level::INFO => LogLevel::Info,
        Level::DEBUG => LogLevel::Debug,
        Level::TRACE => LogLevel::Trace,
    }
}

/// Forwards events to the foreign logger; spans are only numbered.
#[derive(Default)]
struct ForeignSubscriber {
    next_span: AtomicU64,
}

/// Below the reloadable [`LevelFilter`], which decides what is enabled.
impl Subscriber for ForeignSubscriber {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let Some(logger) = LOGGER.read().unwrap_or_else(|p| p.into_inner()).clone() else {
            return;
        };
        let mut message = Message::default();
        event.record(&mut message);
        // Not logged when it fails: that would call the failing logger again.
        let _ = logger.log(LogRecord {
            level: level_of(event.metadata().level()),
            target: event.metadata().target().to_owned(),
            message: message.0,
        });
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, "{}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Lines(Mutex<Vec<LogRecord>>);

    impl Logger for Lines {
        fn log(&self, record: LogRecord) -> Result<(), CallbackError> {
            self.0.lock().unwrap().push(record);
            Ok(())
        }
    }

    /// The logger and its level are global: one test at a time.
    fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
        static GLOBAL: Mutex<()> = Mutex::new(());
        GLOBAL.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[test]
    fn records_at_or_above_the_level_reach_the_foreign_logger() {
        let _global = one_at_a_time();
        let lines = Arc::new(Lines::default());
        init_logger(lines.clone(), LogLevel::Info);
        tracing::info!(state = "ChooseMethod", "state changed");
        tracing::debug!("too verbose");
        let got = lines.0.lock().unwrap().clone();
        assert_eq!(
            got,
            [LogRecord {
                level: LogLevel::Info,
                target: module_path!().to_owned(),
                message: "state changed state=\"ChooseMethod\"".into(),
            }]
        );
    }

    #[test]
    fn a_later_call_with_another_level_takes_effect_for_statements_already_reached() {
        let _global = one_at_a_time();
        let lines = Arc::new(Lines::default());
        let poll = || tracing::debug!("long-poll ended");
        let seen = |lines: &Lines| lines.0.lock().unwrap().len();
        init_logger(lines.clone(), LogLevel::Info);
        poll();
        assert_eq!(seen(&lines), 0);
        init_logger(lines.clone(), LogLevel::Debug);
        poll();
        assert_eq!(seen(&lines), 1);
        init_logger(lines.clone(), LogLevel::Warn);
        poll();
        assert_eq!(seen(&lines), 1);
    }
}
