import Foundation

/// The one-line message of any error: a semcom error's own; a Foundation
/// file error (`CocoaError`, `POSIXError`, or a bare `NSError`) as
/// "PATH: what went wrong", in the system's words and never with its
/// domain, code or user-info dictionary.
public func errorMessage(_ error: any Error) -> String {
    if let e = error as? any KindedError { return e.description }
    return foundationMessage(of: error) ?? "\(error)"
}

/// The one-line message of a Foundation file error, or nil for any other error.
public func foundationMessage(of error: any Error) -> String? {
    guard let (path, reason) = foundationProblem(error) else { return nil }
    return path.map { "\($0): \(reason)" } ?? reason
}

/// The file and the reason behind a Foundation error, or nil for any other error.
func foundationProblem(_ error: any Error) -> (path: String?, reason: String)? {
    if let e = error as? POSIXError { return (nil, String(cString: strerror(e.code.rawValue))) }
    if let e = error as? CocoaError {
        let path = e.filePath ?? e.url?.path
        if let posix = e.underlying as? POSIXError { return (path, String(cString: strerror(posix.code.rawValue))) }
        let reason: String
        switch e.code {
        case .fileNoSuchFile, .fileReadNoSuchFile: reason = "no such file or folder"
        case .fileReadNoPermission, .fileWriteNoPermission: reason = "permission denied"
        case .fileWriteOutOfSpace: reason = "no space left on the device"
        case .fileWriteFileExists: reason = "already exists"
        case .fileReadInapplicableStringEncoding, .fileReadUnknownStringEncoding: reason = "not UTF-8 text"
        case .fileReadCorruptFile: reason = "unreadable (corrupt)"
        case .fileWriteVolumeReadOnly: reason = "on a read-only file system"
        default: reason = e.code.rawValue < 1024 ? "cannot read" : "cannot write"  // Cocoa's read codes are below 1024
        }
        return (path, reason)
    }
    if type(of: error) == NSError.self {
        let e = error as NSError
        return (e.userInfo[NSFilePathErrorKey] as? String, e.localizedFailureReason ?? "operation failed")
    }
    return nil
}

extension ErrorKind {
    /// The kind of a Foundation file error: not found, read-only, or failed.
    init?(foundation error: any Error) {
        guard let e = error as? CocoaError else { return nil }
        switch e.code {
        case .fileNoSuchFile, .fileReadNoSuchFile: self = .notFound
        case .fileWriteNoPermission, .fileWriteVolumeReadOnly: self = .readOnly
        default: self = .failed
        }
    }
}
