import CPNG
import Foundation

extension RGBImage {
    /// Writes the image as an 8-bit RGB PNG (libpng's simplified API, which
    /// reports errors through its message field, never by longjmp).
    public func writePNG(to path: String) throws(ImagingError) {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = UInt32(PNG_FORMAT_FLAG_COLOR)
        let ok = pixels.withUnsafeBytes { raw in
            png_image_write_to_file(&image, path, 0, raw.baseAddress, Int32(width * 3), nil)
        }
        if ok == 0 {
            let message = withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            png_image_free(&image)
            throw ImagingError(file: path, problem: .unreadable("cannot write PNG: \(message)"))
        }
    }
}
