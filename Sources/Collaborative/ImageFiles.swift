import Foundation
import Imaging
import Safety

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

/// Reading image files for a cache: regular files only, bounded in size
/// and pixels (`Imaging.readImageFile`, `ImageLimits`).
public enum ImageFiles {
    /// The cropped image at `path` and its pin; unless `expected` is `.none`
    /// (not read yet), a file whose pin differs is an error naming it.
    public static func load(_ path: String, preprocessing: Preprocessing, expected: ImagePin) throws -> (RGBImage, ImagePin) {
        let bytes = try readImageFile(path)
        let pin = ImagePin(of: bytes)
        if expected != .none, expected != pin {
            throw DatasetError(path, "has changed since the cache was built (\(expected.bytes) bytes then, \(pin.bytes) now, or other content); restore it, or rebuild the cache", kind: .stale)
        }
        return (preprocessing.crop(try preprocessing.image(decoding: bytes, file: path)), pin)
    }
}
