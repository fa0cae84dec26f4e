import Foundation
import Imaging
#if canImport(Glibc)
import Glibc
#endif

/// What identifies an image file's content in a cache: its size in bytes and
/// the SHA-256 of its bytes. Size alone misses an edit that keeps the length;
/// a modification time changes on a copy or a `git checkout` that keeps the
/// content. The digest costs about as much as decoding a JPEG once.
public struct ImagePin: Equatable, Sendable {
    public var bytes: Int64
    /// 32 bytes.
    public var sha256: [UInt8]

    public init(bytes: Int64, sha256: [UInt8]) {
        self.bytes = bytes
        self.sha256 = sha256
    }

    /// The pin of `content`.
    public init(of content: [UInt8]) {
        self.init(bytes: Int64(content.count), sha256: SHA256.digest(content))
    }

    /// "Not read yet", as stored in the cache.
    public static let none = ImagePin(bytes: -1, sha256: [UInt8](repeating: 0, count: 32))
}

/// Reading image files for a cache: regular files only, bounded in size.
public enum ImageFiles {
    /// The largest image file read, in bytes (ImageNet's largest JPEG is about 15 MB).
    public static let maximumBytes = 256 << 20

    /// The bytes of the image file at `path`. A FIFO, device, folder or a file
    /// over `maximumBytes` is an error (it would hang or exhaust memory).
    public static func read(_ path: String) throws -> [UInt8] {
        func failure(_ reason: String) -> DatasetError { DatasetError(path, reason) }
        var info = stat()
        guard stat(path, &info) == 0 else { throw failure("cannot read (\(String(cString: strerror(errno))))") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw failure("not a regular file") }
        guard info.st_size <= maximumBytes else { throw failure("\(info.st_size) bytes, over the \(maximumBytes >> 20) MiB limit for an image") }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("cannot read (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, $0.count - done, off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw failure(n == 0 ? "file shrank while being read" : "read failed (\(String(cString: strerror(errno))))") }
            done += n
        }
        return bytes
    }

    /// The cropped image at `path` and its pin; when `expected` is given (not
    /// `.none`), a file whose pin differs is an error naming it.
    public static func load(_ path: String, preprocessing: Preprocessing, expected: ImagePin? = nil) throws -> (RGBImage, ImagePin) {
        let bytes = try read(path)
        let pin = ImagePin(of: bytes)
        if let expected, expected != .none, expected != pin {
            throw DatasetError(path, "has changed since the cache was built (\(expected.bytes) bytes then, \(pin.bytes) now, or other content); restore it, or rebuild the cache")
        }
        return (preprocessing.crop(try RGBImage(decoding: bytes, file: path)), pin)
    }
}
