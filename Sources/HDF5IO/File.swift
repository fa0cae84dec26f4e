// Files: create, open, flush, close.

@preconcurrency import CHDF5
import Foundation

/// An HDF5 file, which is also its root group ("/").
///
///     let file = try HDF5File.create("cache.h5")
///     let logits = try file.createDataset("runs/tiny/logits", of: Float.self, shape: [0, 1000],
///                                         maxShape: [nil, 1000], chunks: [64, 1000], deflate: 4)
///     try logits.append(batch)                  // 1000 * n values
///     try file.setAttribute("format_version", to: 1)
///
/// The file is closed when the last reference to it, or to any group or
/// dataset opened from it, goes away, or explicitly by `close()`, which also
/// closes every group and dataset opened from it. Open a given file once per
/// process at a time (HDF5 shares one open file between handles).
public final class HDF5File: HDF5Group, @unchecked Sendable {
    /// What `create` does when the file already exists.
    public enum CreationMode: Sendable {
        /// Replace the existing file (h5py mode "w").
        case truncate
        /// Throw `.alreadyExists` (h5py mode "w-" / "x").
        case failIfExists
    }

    /// How `open` opens an existing file.
    public enum AccessMode: Sendable {
        /// Reading only (h5py mode "r").
        case readOnly
        /// Reading and writing (h5py mode "r+").
        case readWrite
    }

    /// Whether the file was opened for writing.
    public let isWritable: Bool

    private init(id: hid_t, path: String, isWritable: Bool) {
        self.isWritable = isWritable
        super.init(handle: Handle(id, kind: .file, file: nil), filePath: path, path: "/")
    }

    /// Creates a new, empty file at `path`, writable.
    public static func create(_ path: String, mode: CreationMode = .truncate) throws -> HDF5File {
        let context = ErrorContext(file: path, path: "/", operation: "cannot create file")
        if mode == .failIfExists && FileManager.default.fileExists(atPath: path) {
            throw context.error(.alreadyExists, "the file exists")
        }
        return try HDF5Library.locked {
            let access = try makeFileAccessList(context)
            defer { _ = H5Pclose(access) }
            let flags = mode == .truncate ? accessTruncate : accessExclusive
            let id = try context.check(H5Fcreate(path, flags, defaultPropertyList, access),
                                       "HDF5 failed to create the file")
            return HDF5File(id: id, path: path, isWritable: true)
        }
    }

    /// Opens an existing file.
    ///
    /// Throws `.fileNotFound` when there is no file, `.notHDF5` when it is not
    /// an HDF5 file and `.corrupt` when it is one that cannot be opened
    /// (truncated, damaged); never crashes on bad input.
    public static func open(_ path: String, mode: AccessMode = .readOnly) throws -> HDF5File {
        let context = ErrorContext(file: path, path: "/", operation: "cannot open file")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw context.error(.fileNotFound, "no such file")
        }
        if isDirectory.boolValue { throw context.error(.notHDF5, "it is a directory") }
        return try HDF5Library.locked {
            let signature = H5Fis_hdf5(path)
            if signature < 0 { throw context.error(.library, "cannot read the file", fromLibrary: true) }
            if signature == 0 { throw context.error(.notHDF5, "not an HDF5 file (no HDF5 signature)") }
            let access = try makeFileAccessList(context)
            defer { _ = H5Pclose(access) }
            let flags = mode == .readWrite ? accessReadWrite : accessReadOnly
            let id = try context.check(H5Fopen(path, flags, access),
                                       "the file is damaged or truncated", kind: .corrupt)
            return HDF5File(id: id, path: path, isWritable: mode == .readWrite)
        }
    }

    /// Opens `path` for reading and writing when it exists, otherwise creates
    /// it (h5py mode "a"): the usual way to open a cache filled over several runs.
    /// An existing file that is not HDF5 or is damaged is an error, never replaced.
    public static func openOrCreate(_ path: String) throws -> HDF5File {
        FileManager.default.fileExists(atPath: path)
            ? try open(path, mode: .readWrite)
            : try create(path, mode: .failIfExists)
    }

    /// `create(url.path, mode:)`.
    public static func create(_ url: URL, mode: CreationMode = .truncate) throws -> HDF5File {
        try create(url.path, mode: mode)
    }

    /// `open(url.path, mode:)`.
    public static func open(_ url: URL, mode: AccessMode = .readOnly) throws -> HDF5File {
        try open(url.path, mode: mode)
    }

    /// Writes buffered data of the whole file to disk.
    public func flush() throws {
        let context = context("cannot flush")
        _ = try withID(context) { id in
            try context.check(H5Fflush(id, H5F_SCOPE_GLOBAL), "HDF5 failed to flush")
        }
    }

    /// A file access property list with the "strong" close degree (closing the
    /// file closes its objects). The caller closes it.
    private static func makeFileAccessList(_ context: ErrorContext) throws -> hid_t {
        let list = try context.check(H5Pcreate(H5P_CLS_FILE_ACCESS_ID_g), "cannot create a property list")
        guard H5Pset_fclose_degree(list, H5F_CLOSE_STRONG) >= 0 else {
            _ = H5Pclose(list)
            throw context.error(.library, "cannot set the close degree", fromLibrary: true)
        }
        return list
    }
}
