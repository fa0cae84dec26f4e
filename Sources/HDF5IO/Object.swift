// The common base of files, groups and datasets: a handle, a file name and a path.

@preconcurrency import CHDF5

/// Something stored in an HDF5 file that has a path and attributes:
/// an `HDF5File` (its root group), an `HDF5Group` or an `HDF5Dataset`.
///
/// Objects are reference types; the underlying HDF5 identifier is closed in
/// `deinit` or by `close()`. All calls into HDF5 hold one global lock, so an
/// object may be used from any thread, one call at a time.
public class HDF5Object: @unchecked Sendable, CustomStringConvertible {
    let handle: Handle
    /// The file, as the caller named it when creating or opening it.
    public let filePath: String
    /// The absolute path of this object inside the file ("/" for the root group).
    public let path: String

    init(handle: Handle, filePath: String, path: String) {
        self.handle = handle
        self.filePath = filePath
        self.path = path
    }

    /// `file.h5:/group/dataset`.
    public var description: String { "\(filePath):\(path)" }

    /// Whether this object (and its file) is still open.
    public var isOpen: Bool { handle.id != nil }

    /// Closes this object now instead of at `deinit`. Later calls on it throw
    /// `HDF5Error.Kind.closed`. Closing twice is harmless. For an `HDF5File`
    /// this closes the file and every group and dataset opened from it.
    public func close() { handle.close() }

    // MARK: Internal helpers

    /// An error context for `operation` on this object (or on `path`, when given).
    func context(_ operation: String, path: String? = nil) -> ErrorContext {
        ErrorContext(file: filePath, path: path ?? self.path, operation: operation)
    }

    /// Runs `body` with this object's identifier, under the global lock.
    func withID<R>(_ context: ErrorContext, _ body: (hid_t) throws -> R) throws -> R {
        try HDF5Library.locked {
            guard let id = handle.id else {
                throw context.error(.closed, "the file or object was closed")
            }
            return try body(id)
        }
    }

    /// The handle of the file this object belongs to.
    var fileHandle: Handle { handle.file ?? handle }

    /// The absolute path of `relative` resolved against this object's path.
    /// Leading "/" makes it absolute; empty components and "." are dropped.
    func resolve(_ relative: String) -> String {
        let base = relative.hasPrefix("/") ? [] : components(of: path)
        let parts = base + components(of: relative)
        return "/" + parts.joined(separator: "/")
    }
}

/// Path components, without empty ones and ".".
func components(of path: String) -> [String] {
    path.split(separator: "/", omittingEmptySubsequences: true)
        .map(String.init).filter { $0 != "." }
}
