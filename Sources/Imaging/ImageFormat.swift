/// The image formats Imaging decodes, recognised by their magic bytes (never
/// the file extension: ImageNet has PNGs named `.JPEG`).
public enum ImageFormat: Sendable, Equatable {
    /// JFIF/Exif/Adobe JPEG: starts FF D8 FF.
    case jpeg
    /// PNG: starts 89 50 4E 47 0D 0A 1A 0A.
    case png

    /// "JPEG" or "PNG".
    public var name: String {
        switch self {
        case .jpeg: return "JPEG"
        case .png: return "PNG"
        }
    }

    /// The format whose signature `bytes` begins with, or nil.
    public static func detect<Bytes: Collection>(_ bytes: Bytes) -> ImageFormat? where Bytes.Element == UInt8 {
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        return nil
    }

    /// A short guess at what non-JPEG, non-PNG bytes are, for error messages.
    static func describeUnknown<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let known: [(prefix: [UInt8], name: String)] = [
            (Array("GIF8".utf8), "looks like GIF"),
            (Array("BM".utf8), "looks like BMP"),
            ([0x49, 0x49, 0x2A, 0x00], "looks like TIFF"),
            ([0x4D, 0x4D, 0x00, 0x2A], "looks like TIFF"),
            (Array("%PDF".utf8), "looks like PDF"),
            ([0x3C], "looks like text/HTML/XML"),
        ]
        let head = Array(bytes.prefix(12))
        if head.count >= 12, head.starts(with: Array("RIFF".utf8)), Array(head[8..<12]) == Array("WEBP".utf8) {
            return "looks like WebP"
        }
        for entry in known where head.starts(with: entry.prefix) {
            return entry.name
        }
        let hex = head.prefix(8).map { byte in
            let digits = String(byte, radix: 16, uppercase: true)
            return digits.count == 1 ? "0" + digits : digits
        }
        return "starts with bytes " + hex.joined(separator: " ")
    }
}
