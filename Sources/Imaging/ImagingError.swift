import Safety

/// Why an image file could not be turned into pixels. Every error names the file.
public struct ImagingError: KindedError, Sendable, Equatable {
    /// What went wrong, without the file name.
    public enum Problem: Sendable, Equatable {
        /// The file could not be read (the system's reason, e.g. "Permission denied").
        case unreadable(String)
        /// No file at the path (the system's words).
        case missing(String)
        /// The file has no bytes.
        case empty
        /// The bytes are not a JPEG or a PNG; the associated text says what they look like.
        case unknownFormat(String)
        /// The JPEG or PNG data is corrupt, truncated or unsupported; the decoder's message.
        case invalidData(format: ImageFormat, message: String)
        /// The header declares `width` x `height` pixels, more than `limit`
        /// (`ImageLimits.maxPixels`); the image was not decoded.
        case tooManyPixels(width: Int, height: Int, limit: Int)
        /// The image (`width` x `height`, within the limit) would be resized
        /// to `resizedWidth` x `resizedHeight`, more than `limit` pixels
        /// (an extreme aspect ratio); it was not decoded.
        case resizeTooLarge(width: Int, height: Int, resizedWidth: Int, resizedHeight: Int, limit: Int)
    }

    /// The path as given by the caller.
    public let file: String
    public let problem: Problem

    public init(file: String, problem: Problem) {
        self.file = file
        self.problem = problem
    }

    /// A missing file is `notFound`, one that cannot be read `failed`; bytes
    /// that are not an image `corrupt`; an image over the limits `badValue`.
    public var kind: ErrorKind {
        switch problem {
        case .missing: return .notFound
        case .unreadable: return .failed
        case .empty, .unknownFormat, .invalidData: return .corrupt
        case .tooManyPixels, .resizeTooLarge: return .badValue
        }
    }

    /// One line: `<file>: <what is wrong>`.
    public var description: String {
        switch problem {
        case .unreadable(let reason), .missing(let reason):
            return "\(file): cannot read the file: \(reason)"
        case .empty:
            return "\(file): the file is empty, not an image"
        case .unknownFormat(let looksLike):
            return "\(file): not a JPEG or PNG image (\(looksLike))"
        case .invalidData(let format, let message):
            return "\(file): invalid \(format.name) data: \(message)"
        case .tooManyPixels(let width, let height, let limit):
            return "\(file): image of \(width)x\(height) pixels (\(width * height)) exceeds the limit of \(limit) pixels; not decoded (raise the limit with --max-image-pixels)"
        case .resizeTooLarge(let width, let height, let resizedWidth, let resizedHeight, let limit):
            return "\(file): image of \(width)x\(height) pixels would be resized to \(resizedWidth)x\(resizedHeight), over the limit of \(limit) pixels; not decoded (raise the limit with --max-image-pixels)"
        }
    }
}
