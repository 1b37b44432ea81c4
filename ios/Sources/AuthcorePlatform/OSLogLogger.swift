#if canImport(OSLog)
import Authcore
import OSLog

/// authcore's logs in the unified log (records carry no user data; see bindings/src/logging.rs).
public final class OSLogLogger: Logger, @unchecked Sendable {
    private let log = os.Logger(subsystem: "com.example.authcore", category: "core")

    public init() {}

    public func log(record: LogRecord) {
        let line = "\(record.target): \(record.message)"
        switch record.level {
        case .error: log.error("\(line, privacy: .public)")
        case .warn: log.warning("\(line, privacy: .public)")
        case .info: log.info("\(line, privacy: .public)")
        case .debug, .trace: log.debug("\(line, privacy: .public)")
        }
    }
}
#endif
