// The HDF5 C library: one-time initialisation, the global lock, and the
// constants that the C headers define as macros Swift cannot import.
//
// Thread safety: Debian's serial HDF5 is not thread-safe. Every call into the
// C library made by this module runs inside `HDF5Library.locked`, which holds
// one process-wide recursive lock, so the wrapper may be used from several
// threads (calls are serialised, never concurrent). Code that calls the C
// library directly, outside this module, is not covered by the lock.

@preconcurrency import CHDF5
import Foundation

/// Process-wide state of the HDF5 C library, used only inside this module.
enum HDF5Library {
    /// The one lock held around every HDF5 call. Recursive, because a handle
    /// released inside a locked region closes itself from `deinit`.
    private static let lock = NSRecursiveLock()

    /// Whether `locked` has opened the library yet. Guarded by `lock`.
    nonisolated(unsafe) private static var isInitialised = false

    /// Runs `body` holding the global HDF5 lock. The first call opens the
    /// library (`H5open`) and turns off HDF5's automatic printing of error
    /// stacks to stderr (`H5Eset_auto2`): failures become `HDF5Error`s instead.
    static func locked<R>(_ body: () throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        if !isInitialised {
            _ = H5open()
            _ = H5Eset_auto2(defaultErrorStack, nil, nil)
            isInitialised = true
        }
        return try body()
    }

    /// The most specific message on HDF5's current error stack (the function
    /// where the failure was first detected), or nil when the stack is empty.
    /// Call right after a failing HDF5 call, inside `locked`.
    static func innermostErrorMessage() -> String? {
        final class Box { var message: String? }
        let box = Box()
        _ = H5Ewalk2(defaultErrorStack, H5E_WALK_UPWARD, { n, entry, client in
            guard n == 0, let entry, let client, let desc = entry.pointee.desc else { return 0 }
            let box = Unmanaged<Box>.fromOpaque(client).takeUnretainedValue()
            let text = String(cString: desc).trimmingCharacters(in: .whitespacesAndNewlines)
            box.message = text.isEmpty ? nil : text
            return 0
        }, Unmanaged.passUnretained(box).toOpaque())
        _ = H5Eclear2(defaultErrorStack)
        return box.message
    }
}

// MARK: - Constants for C macros (values from the 1.10 headers; stable across 1.8-1.14)

/// `H5P_DEFAULT`: default property list.
let defaultPropertyList: hid_t = 0
/// `H5S_ALL`: the whole dataspace.
let allSpace: hid_t = 0
/// `H5E_DEFAULT`: the default (current) error stack.
let defaultErrorStack: hid_t = 0
/// `H5S_UNLIMITED`: maximum dimension that may grow without bound.
let unlimitedDimension: hsize_t = hsize_t.max
/// `H5T_VARIABLE`: size of a variable-length string type.
let variableSize: Int = -1
/// `H5F_ACC_*` file access flags.
let accessReadOnly: UInt32 = 0x0000
let accessReadWrite: UInt32 = 0x0001
let accessTruncate: UInt32 = 0x0002
let accessExclusive: UInt32 = 0x0004
