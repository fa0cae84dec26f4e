/// What kind of problem an error of semcom reports, for a caller that acts on
/// it (wait when in use, rebuild when stale, ask again on a bad value) instead
/// of reading its message. Every error type of every module has one
/// (`KindedError`); its message is one line naming the file (and object).
public enum ErrorKind: Sendable, Equatable, CustomStringConvertible {
    /// A file, run, shard, tensor or image that is not where it was said to be.
    case notFound
    /// A file that is not what it claims (bad magic, truncated, malformed), or
    /// whose parts disagree or hold impossible values.
    case corrupt
    /// Made from other inputs than those given now, or changed since.
    case stale
    /// Being written by another process.
    case inUse
    /// No permission to write.
    case readOnly
    /// Not built to the end.
    case incomplete
    /// A value (option, argument, setting, parameter) outside what can work.
    case badValue
    /// A computation or a system call that could not go on.
    case failed

    public var description: String {
        switch self {
        case .notFound: return "not found"
        case .corrupt: return "corrupt"
        case .stale: return "stale"
        case .inUse: return "in use"
        case .readOnly: return "read-only"
        case .incomplete: return "incomplete"
        case .badValue: return "bad value"
        case .failed: return "failed"
        }
    }
}

/// An error with a kind a caller can switch on; `description` is its one-line message.
public protocol KindedError: Error, CustomStringConvertible {
    var kind: ErrorKind { get }
}

extension ErrorKind {
    /// The kind of any error: its own when it has one; for a Foundation file
    /// error not found, read-only or failed; else `failed`.
    public init(of error: any Error) {
        self = (error as? any KindedError)?.kind ?? ErrorKind(foundation: error) ?? .failed
    }
}
