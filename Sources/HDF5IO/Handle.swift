// An owned HDF5 identifier, closed exactly once (explicitly or in deinit).

@preconcurrency import CHDF5

/// Owns one HDF5 identifier of a file, group or dataset.
///
/// A group's or dataset's handle keeps its file's handle alive (`file`), so
/// the file stays open while objects from it are in use. Files are opened with
/// the "strong" close degree: closing a file explicitly closes every object
/// opened from it, and those handles then report themselves closed.
/// All access to `rawID` happens under `HDF5Library.locked`.
final class Handle: @unchecked Sendable {
    enum Kind { case file, object }

    let kind: Kind
    /// The file's handle, for groups and datasets; nil for a file.
    let file: Handle?
    private var rawID: hid_t

    init(_ id: hid_t, kind: Kind, file: Handle?) {
        self.rawID = id
        self.kind = kind
        self.file = file
    }

    /// The identifier, or nil when this handle or its file was closed.
    var id: hid_t? {
        HDF5Library.locked {
            guard rawID >= 0 else { return nil }
            if let file, file.id == nil { return nil }
            return rawID
        }
    }

    /// Closes the identifier (once). A group or dataset whose file was closed
    /// already had its identifier closed by HDF5 and is only marked.
    func close() {
        HDF5Library.locked {
            guard rawID >= 0 else { return }
            let fileOpen = file.map { $0.id != nil } ?? true
            if fileOpen {
                switch kind {
                case .file: _ = H5Fclose(rawID)
                case .object: _ = H5Oclose(rawID)
                }
            }
            rawID = -1
        }
    }

    deinit { close() }
}
