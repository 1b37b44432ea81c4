#if canImport(OSLog)
import Authcore
import OSLog

/// authcore's logs in the unified log (records carry no user data; see bindings/src/logging.rs).
/// `Authcore.Logger` (the bindings' foreign trait) and `os.Logger` share a name: both are
/// written with their module.
public final class OSLogLogger: Authcore.Logger, @unchecked Sendable {
    private let unifiedLog = os.Logger(subsystem: "com.example.authcore", category: "core")

    public init() {}

    public func log(record: LogRecord) {
        let line = "\(record.target): \(record.message)"
        switch record.level {
        case .error: unifiedLog.error("\(line, privacy: .public)")
        case .warn: unifiedLog.warning("\(line, privacy: .public)")
        case .info: unifiedLog.info("\(line, privacy: .public)")
        case .debug, .trace: unifiedLog.debug("\(line, privacy: .public)")
        }
    }
}
#endif
