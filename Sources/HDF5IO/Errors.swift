// Errors: one line naming the file, the object path and the operation.

import Foundation

/// An error from an HDF5 operation.
///
/// Its `description` is one line, `FILE: PATH: OPERATION: REASON`, followed by
/// the innermost message of HDF5's own error stack when the C library failed:
///
///     cache.h5: /runs/tiny/logits: cannot read: dataset has shape [10, 1000], asked rows 12..<14
///
/// Switch on `kind` to react: `.notFound` is a missing group, dataset or
/// attribute inside a readable file (a cache miss); `.fileNotFound` is a
/// missing file; `.notHDF5` and `.corrupt` are files that cannot be used.
public struct HDF5Error: Error, CustomStringConvertible, LocalizedError, Sendable {
    /// What went wrong, for callers that react to the kind of failure.
    public enum Kind: Sendable, Hashable {
        /// The file does not exist.
        case fileNotFound
        /// The file exists but has no HDF5 signature.
        case notHDF5
        /// The file has an HDF5 signature but cannot be opened or read
        /// (truncated, damaged).
        case corrupt
        /// No group, dataset or attribute at the given path or name.
        case notFound
        /// The file, group, dataset or attribute already exists.
        case alreadyExists
        /// Stored element type (or object kind) differs from the one asked for.
        case typeMismatch
        /// The number of values does not match the shape, or ranks differ.
        case shapeMismatch
        /// A hyperslab or new extent lies outside the dataset's (maximum) shape.
        case outOfRange
        /// An argument is invalid on its own (negative size, bad level...).
        case invalidArgument
        /// The file or object was closed before this call.
        case closed
        /// Any other failure reported by the HDF5 C library.
        case library
    }

    /// What went wrong.
    public var kind: Kind
    /// The file, as the caller named it.
    public var file: String
    /// The object's absolute path inside the file ("/" for the file itself).
    public var path: String
    /// The operation that failed, e.g. "cannot read".
    public var operation: String
    /// Why it failed, in words.
    public var reason: String
    /// The innermost message from HDF5's error stack, when the C library failed.
    public var hdf5Message: String?

    /// Creates an error; normally made by the wrapper, public for tests and callers' own checks.
    public init(_ kind: Kind, file: String, path: String, operation: String,
                reason: String, hdf5Message: String? = nil) {
        self.kind = kind
        self.file = file
        self.path = path
        self.operation = operation
        self.reason = reason
        self.hdf5Message = hdf5Message
    }

    /// `FILE: PATH: OPERATION: REASON (HDF5: message)`, on one line.
    public var description: String {
        var line = "\(file): \(path): \(operation): \(reason)"
        if let hdf5Message, !hdf5Message.isEmpty { line += " (HDF5: \(hdf5Message))" }
        return line.replacingOccurrences(of: "\n", with: " ")
    }

    /// Same as `description`.
    public var errorDescription: String? { description }
}

/// Where an operation happens, to build errors that name file, path and operation.
struct ErrorContext {
    var file: String
    var path: String
    var operation: String

    /// An error of `kind`; with `fromLibrary`, the HDF5 stack's innermost message is attached.
    func error(_ kind: HDF5Error.Kind, _ reason: String, fromLibrary: Bool = false) -> HDF5Error {
        HDF5Error(kind, file: file, path: path, operation: operation, reason: reason,
                  hdf5Message: fromLibrary ? HDF5Library.innermostErrorMessage() : nil)
    }

    /// Returns `result` when it is non-negative (HDF5's success convention),
    /// otherwise throws an error of `kind` carrying the HDF5 stack's message.
    @discardableResult
    func check<I: BinaryInteger>(_ result: I, _ reason: String,
                                 kind: HDF5Error.Kind = .library) throws -> I {
        if result < 0 { throw error(kind, reason, fromLibrary: true) }
        return result
    }
}

/// `[10, 1000]`, for messages.
func describe(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ", ") + "]"
}
