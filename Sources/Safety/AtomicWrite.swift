import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file problem, in one line naming the file.
public struct FileSafetyError: KindedError {
    public let path: String
    public let reason: String
    public let kind: ErrorKind
    public var description: String { "\(path): \(reason)" }
    public init(_ path: String, _ reason: String, kind: ErrorKind = .failed) {
        self.path = path
        self.reason = reason
        self.kind = kind
    }
}

/// Writing files so that a reader, a crash or a power loss never sees a
/// half-written one: the bytes go to a temporary file in the destination's
/// folder (`.NAME.PID.N.tmp`), which is flushed to disk (fsync) and renamed
/// over the destination; the folder is then flushed so that the rename
/// survives a power loss. A destination that is a symbolic link is written
/// through: its target is replaced, the link is kept.
public enum AtomicWrite {
    /// Writes `data` to `path` atomically, creating the folder if needed.
    public static func write(_ data: Data, to path: String) throws {
        let target = resolvedDestination(path)
        let temp = try temporaryPath(for: target)
        do {
            try writeAndSync(data, to: temp, for: target)
            try publish(temp, as: target)
        } catch {
            unlink(temp)
            throw error
        }
    }

    /// `write` of UTF-8 text.
    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }

    /// Where writing `path` lands: `path` itself, or the final target of the
    /// symbolic link(s) it names (relative link targets are resolved against
    /// the link's folder).
    public static func resolvedDestination(_ path: String) -> String {
        var current = path
        for _ in 0..<40 {  // the kernel's own limit on link chains
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: current) else { return current }
            current = target.hasPrefix("/") ? target
                : URL(fileURLWithPath: current).deletingLastPathComponent().appendingPathComponent(target).path
        }
        return current
    }

    /// A fresh temporary name beside `path` (its folder is created if missing).
    public static func temporaryPath(for path: String) throws -> String {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw FileSafetyError(path, "cannot create its folder \(dir.path)")
        }
        return dir.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp").path
    }

    /// Renames the complete, synced file `temp` over `path` and flushes the folder.
    public static func publish(_ temp: String, as path: String) throws {
        guard rename(temp, path) == 0 else { throw FileSafetyError(path, "cannot replace (\(String(cString: strerror(errno))))") }
        syncDirectory(of: path)
    }

    /// Flushes a file's data to disk.
    public static func sync(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileSafetyError(path, "cannot open to flush (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw FileSafetyError(path, "cannot flush to disk (\(String(cString: strerror(errno))))") }
    }

    /// Flushes the folder holding `path`, so that a rename into it is durable.
    static func syncDirectory(of path: String) {
        let fd = open(URL(fileURLWithPath: path).deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    /// Copies `source` to a new file `destination`, synced to disk.
    public static func copy(_ source: String, to destination: String) throws {
        let input = open(source, O_RDONLY)
        guard input >= 0 else { throw FileSafetyError(source, "cannot read (\(String(cString: strerror(errno))))") }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard output >= 0 else { throw FileSafetyError(destination, "cannot create (\(String(cString: strerror(errno))))") }
        defer { close(output) }
        try copyByReading(input, output, destination)
        guard fsync(output) == 0 else { throw FileSafetyError(destination, "cannot flush to disk") }
    }

    private static func copyByReading(_ input: Int32, _ output: Int32, _ destination: String) throws {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw FileSafetyError(destination, "read failed while copying") }
            if n == 0 { return }
            try buffer.withUnsafeBytes { try writeAll(output, UnsafeRawBufferPointer(rebasing: $0[..<n]), destination) }
        }
    }

    /// Writes all of `bytes` to `fd` (retrying short writes and EINTR); errors name `destination`.
    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ destination: String) throws {
        var written = 0
        while written < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + written, bytes.count - written)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw FileSafetyError(destination, "cannot write (\(String(cString: strerror(errno))))") }
            written += n
        }
    }

    /// Writes `data` to the new file `temp` and flushes it; errors name `destination`.
    private static func writeAndSync(_ data: Data, to temp: String, for destination: String) throws {
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw FileSafetyError(destination, "cannot create a temporary file beside it (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        try data.withUnsafeBytes { try writeAll(fd, $0, destination) }
        guard fsync(fd) == 0 else { throw FileSafetyError(destination, "cannot flush to disk") }
    }
}

/// The identity of a file on disk (device and inode), to tell whether two
/// paths name the same file (through links, `..` or symbolic links).
public struct FileIdentity: Equatable, Hashable, Sendable {
    let device: UInt64, inode: UInt64

    /// The file `path` names (following symbolic links), or nil when there is none.
    public init?(_ path: String) {
        var s = stat()
        guard stat(path, &s) == 0 else { return nil }
        device = UInt64(s.st_dev)
        inode = UInt64(s.st_ino)
    }
}

/// What a file of mode `mode` (from `stat`) is when it is not a regular
/// file ("a FIFO (named pipe)", "a folder", ...), or nil for a regular file:
/// the words of every "not a regular file" refusal.
public func nonRegularKind(_ mode: mode_t) -> String? {
    switch mode & S_IFMT {
    case S_IFREG: return nil
    case S_IFDIR: return "a folder"
    case S_IFIFO: return "a FIFO (named pipe)"
    case S_IFCHR: return "a character device"
    case S_IFBLK: return "a block device"
    case S_IFSOCK: return "a socket"
    default: return "of an unknown kind"
    }
}

/// Why `openRegularFile` refused a path (the caller names the file).
public enum RegularFileError: KindedError {
    /// The path names nothing (ENOENT; `strerror`'s words).
    case missing(String)
    /// The system could not stat or open it (`strerror`'s words).
    case system(String)
    /// Not a regular file, or over the size limit.
    case refused(String)

    /// The words alone: `strerror`'s, or the refusal.
    public var reason: String {
        switch self { case .missing(let s), .system(let s), .refused(let s): return s }
    }
    public var description: String {
        switch self {
        case .missing(let s), .system(let s): return "cannot read file (\(s))"
        case .refused(let r): return r
        }
    }
    public var kind: ErrorKind {
        switch self {
        case .missing: return .notFound
        case .system: return .failed
        case .refused: return .badValue
        }
    }
}

/// Opens `path` for reading when it is a regular file of at most `maxBytes` (`what`
/// names such a file in the message, e.g. "an image file")
/// (symbolic links followed): `stat` first, so that a FIFO, device, socket or
/// folder is never opened (nothing blocks, nothing endless is read); then
/// opened non-blocking and checked again with `fstat`, in case the path was
/// replaced in between. Returns the descriptor, which the caller closes, and the size.
public func openRegularFile(_ path: String, maxBytes: Int = .max, what: String = "a file") throws -> (fd: Int32, size: Int) {
    func failure() -> RegularFileError {
        let words = String(cString: strerror(errno))
        return errno == ENOENT ? .missing(words) : .system(words)
    }
    func check(_ info: stat) throws {
        if let kind = nonRegularKind(info.st_mode) { throw RegularFileError.refused("not a regular file (\(kind))") }
        guard Int(info.st_size) <= maxBytes else {
            throw RegularFileError.refused("\(info.st_size) bytes, over the \(maxBytes >> 20) MiB limit for \(what)")
        }
    }
    var info = stat()
    guard stat(path, &info) == 0 else { throw failure() }
    try check(info)
    let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
    guard fd >= 0 else { throw failure() }
    guard fstat(fd, &info) == 0 else { close(fd); throw failure() }
    do { try check(info) } catch { close(fd); throw error }
    return (fd, Int(info.st_size))
}
