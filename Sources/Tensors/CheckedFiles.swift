import Foundation
import Safety
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a file, or a shape read from one, was refused: the reason alone. The
/// parser that catches it adds the file's name (and the tensor or field).
public struct FileCheckError: KindedError {
    public let reason: String
    public let kind: ErrorKind
    public init(_ reason: String, kind: ErrorKind = .corrupt) {
        self.reason = reason
        self.kind = kind
    }
    public var description: String { reason }
}

/// A weights or array file (`.safetensors`, `.npy`) that cannot be read, in
/// one line naming it and, where there is one, the tensor or field.
public struct TensorFileError: KindedError {
    public let path: String
    public let reason: String
    public let kind: ErrorKind
    public var description: String { "\(path): \(reason)" }
    public init(path: String, reason: String, kind: ErrorKind = .corrupt) {
        self.path = path
        self.reason = reason
        self.kind = kind
    }
    /// `check`'s reason and kind, under `path`.
    public init(path: String, _ check: FileCheckError) { self.init(path: path, reason: check.reason, kind: check.kind) }
}

/// The element count of `shape` and its size in bytes at `elementSize`
/// bytes per element, in checked arithmetic. Throws when a dimension is
/// negative, or when a partial product (left to right, as `Tensor` counts)
/// or the byte size does not fit in `Int`. Shared by every file parser.
public func checkedSize(of shape: [Int], elementSize: Int) throws -> (count: Int, bytes: Int) {
    var count = 1
    for (i, n) in shape.enumerated() {
        guard n >= 0 else { throw FileCheckError("dimension \(i) of shape \(shape) is negative") }
        let (product, overflow) = count.multipliedReportingOverflow(by: n)
        guard !overflow else { throw FileCheckError("the element count of shape \(shape) overflows") }
        count = product
    }
    let (bytes, overflow) = count.multipliedReportingOverflow(by: elementSize)
    guard !overflow else { throw FileCheckError("the byte size of shape \(shape) overflows") }
    return (count, bytes)
}

/// The contents of the regular file at `path`, memory-mapped read-only
/// (`openRegularFile`: a directory, FIFO, socket or device is never opened).
public func mapRegularFile(_ path: String) throws -> Data {
    let (fd, size): (Int32, Int)
    do { (fd, size) = try openRegularFile(path, what: "weights or arrays") } catch let e as RegularFileError { throw FileCheckError(e.description, kind: e.kind) }
    defer { close(fd) }
    guard size > 0 else { return Data() }
    guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
        throw FileCheckError("cannot map file (\(String(cString: strerror(errno))))", kind: .failed)
    }
    return Data(bytesNoCopy: p, count: size, deallocator: .custom { p, n in munmap(p, n) })
}
