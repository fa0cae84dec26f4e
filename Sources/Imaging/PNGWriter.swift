import CPNG
import Foundation
import Safety

extension RGBImage {
    /// The image as an 8-bit RGB PNG, in memory (libpng's simplified API,
    /// which reports errors through its message field, never by longjmp).
    /// `name` is the file named in errors.
    public func pngData(name: String = "PNG") throws(ImagingError) -> Data {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = UInt32(PNG_FORMAT_FLAG_COLOR)
        // First call: the size needed; second: the bytes.
        var size: png_alloc_size_t = 0
        var out = Data()
        var ok = pixels.withUnsafeBytes { raw in
            png_image_write_to_memory(&image, nil, &size, 0, raw.baseAddress, Int32(width * 3), nil)
        }
        if ok != 0 {
            out = Data(count: Int(size))
            ok = out.withUnsafeMutableBytes { buffer in
                pixels.withUnsafeBytes { raw in
                    png_image_write_to_memory(&image, buffer.baseAddress, &size, 0, raw.baseAddress, Int32(width * 3), nil)
                }
            }
        }
        guard ok != 0 else {
            let message = withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            png_image_free(&image)
            throw ImagingError(file: name, problem: .unreadable("cannot encode PNG: \(message)"))
        }
        return out.prefix(Int(size))
    }

    /// Writes the image as an 8-bit RGB PNG with `AtomicWrite` (whole or not
    /// at all; a symbolic link is written through).
    public func writePNG(to path: String) throws {
        try AtomicWrite.write(try pngData(name: path), to: path)
    }
}
