import Foundation
import HDF5IO
import Safety
#if canImport(Glibc)
import Glibc
#endif

/// The one way a cache file is changed: copy-on-write under a writer lock.
///
/// Why this mechanism. HDF5 updates a file in place (data chunks, B-trees,
/// the superblock), so a process killed or a machine powered off part-way
/// through a write can leave a file that neither HDF5 nor h5py can open, and
/// a reader that opens the file while it is written can see half a batch.
/// HDF5's SWMR mode would keep readers safe, but it cannot add attributes,
/// groups or datasets while writing (a memo table, a new run), needs `h5clear`
/// after a crash, and promises nothing on power loss. So the published cache
/// is never opened for writing at all:
///
/// - A writer takes an exclusive lock on `CACHE.lock` beside the cache (our
///   own `flock`, which works whether or not HDF5's file locking is on, and
///   across NFS clients), so two writers never lose each other's answers.
/// - It copies the cache to a private file in the same folder
///   (`.CACHE.PID.N.tmp`) and writes there.
/// - At a checkpoint it closes the private file, copies it, flushes the copy
///   to disk and renames it over the cache; `commit` renames the private file
///   itself. A rename is atomic: every reader, and every process that starts
///   after a crash, sees either the previous complete file or the next one,
///   never a half-written batch. Readers that have the old file open keep
///   reading it, unchanged.
/// - After a crash, the next writer removes the leftover private files and
///   starts from the last published file: at most the work since the last
///   checkpoint is redone, and the result is the same.
///
/// A checkpoint costs one copy of the file, so checkpoints are spaced so that
/// copying takes at most 1/50 of the time (about 2 %), and at least
/// `minimumInterval` apart, unless an interval is given.
public final class CacheWriter {
    /// The published cache.
    public let path: String
    /// The private copy being written.
    let workPath: String
    /// The private copy, open for writing.
    public private(set) var file: HDF5File
    /// Seconds between checkpoints; nil = adaptive (see the type's notes).
    public var checkpointInterval: TimeInterval?
    /// The adaptive interval's floor, in seconds.
    public static let minimumInterval: TimeInterval = 10
    /// Time spent publishing so far (seconds), for measurements.
    public private(set) var publishingSeconds: TimeInterval = 0

    private var lockDescriptor: Int32
    /// Permission bits the published file gets (those of the file it replaces).
    private let mode: mode_t
    private var lastCheckpoint = Date()
    private var lastCost: TimeInterval = 0
    private var finished = false

    /// Takes the writer lock and opens a private copy of the cache at `path`;
    /// with `creating`, a new empty file instead (an existing cache is then an error).
    public init(path: String, creating: Bool = false) throws {
        self.path = path
        var info = stat()
        let exists = stat(path, &info) == 0
        mode = exists ? info.st_mode & 0o7777 : 0o644
        // Permission bits are the owner's word, even for root, whom the kernel would let write.
        if exists && !creating && mode & 0o222 == 0 {
            throw CacheError(path, "is read-only (no write permission): it can answer what it stores, but cannot store anything new", kind: .readOnly)
        }
        lockDescriptor = try Self.lock(path)
        do {
            Self.removeLeftovers(of: path)
            workPath = try AtomicWrite.temporaryPath(for: path)
            if creating {
                guard !FileManager.default.fileExists(atPath: path) else { throw CacheError(path, "exists already", kind: .badValue) }
                file = try HDF5File.create(workPath, mode: .failIfExists)
            } else {
                try AtomicWrite.copy(path, to: workPath)
                file = try HDF5File.open(workPath, mode: .readWrite)
            }
        } catch {
            Self.unlock(lockDescriptor)
            throw error
        }
    }

    deinit { if !finished { abandon() } }

    /// Whether a checkpoint is due (see the type's notes).
    public var checkpointDue: Bool {
        Date().timeIntervalSince(lastCheckpoint) >= checkpointInterval ?? max(Self.minimumInterval, 50 * lastCost)
    }

    /// Publishes the work so far when a checkpoint is due; returns whether it did.
    @discardableResult
    public func checkpointIfDue() throws -> Bool {
        guard checkpointDue else { return false }
        try checkpoint()
        return true
    }

    /// Publishes the work so far and goes on writing.
    public func checkpoint() throws {
        let start = Date()
        file.close()
        let copy = try AtomicWrite.temporaryPath(for: path)
        do {
            try AtomicWrite.copy(workPath, to: copy)
            chmod(copy, mode)
            try AtomicWrite.publish(copy, as: path)
        } catch {
            unlink(copy)
            throw error
        }
        file = try HDF5File.open(workPath, mode: .readWrite)
        lastCost = Date().timeIntervalSince(start)
        publishingSeconds += lastCost
        lastCheckpoint = Date()
    }

    /// Publishes the work and releases the lock; the writer is done.
    public func commit() throws {
        let start = Date()
        file.close()
        try AtomicWrite.sync(workPath)
        chmod(workPath, mode)
        try AtomicWrite.publish(workPath, as: path)
        publishingSeconds += Date().timeIntervalSince(start)
        finished = true
        Self.unlock(lockDescriptor)
    }

    /// Drops the unpublished work and releases the lock (the cache stays as last published).
    public func abandon() {
        file.close()
        unlink(workPath)
        finished = true
        Self.unlock(lockDescriptor)
    }

    // MARK: The lock

    /// `CACHE.lock`, beside the cache.
    public static func lockPath(_ path: String) -> String { path + ".lock" }

    /// Takes the exclusive writer lock or throws, naming the process that holds it.
    static func lock(_ path: String) throws -> Int32 {
        let lockFile = lockPath(path)
        let fd = open(lockFile, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw CacheError(path, "cannot write here: cannot create the lock file \(lockFile) (\(String(cString: strerror(errno))))", kind: .readOnly)
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = readHolder(fd)
            close(fd)
            throw CacheError(path, "is being written by another process\(holder.map { " (pid \($0))" } ?? ""); wait for it to finish, then run this again", kind: .inUse)
        }
        let text = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, text, text.utf8.count, 0)
        return fd
    }

    private static func unlock(_ fd: Int32) {
        guard fd >= 0 else { return }
        _ = ftruncate(fd, 0)
        close(fd)  // releases the flock
    }

    private static func readHolder(_ fd: Int32) -> Int? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return Int(String(decoding: buffer.prefix(n), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The process writing the cache now, when one is (its PID if it wrote it), else nil.
    public static func writer(of path: String) -> (busy: Bool, pid: Int?) {
        let fd = open(lockPath(path), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return (false, nil) }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            _ = flock(fd, LOCK_UN)
            return (false, nil)
        }
        return (true, readHolder(fd))
    }

    /// Private copies left by writers that crashed (call with the lock held).
    static func leftovers(of path: String) -> [String] {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let prefix = "." + url.lastPathComponent + "."
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".tmp") }.map { dir + "/" + $0 }
    }

    private static func removeLeftovers(of path: String) {
        for f in leftovers(of: path) { unlink(f) }
    }
}
