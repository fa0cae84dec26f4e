import CImagingCodecs

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension RGBImage {
    /// Decodes the JPEG or PNG file at `path` to 8-bit RGB, as PIL's
    /// `Image.open(path).convert("RGB")` does (see `init(decoding:file:)`).
    ///
    /// - Throws: `ImagingError` naming `path` when the file cannot be read, is
    ///   empty, is neither JPEG nor PNG, or holds corrupt or truncated data.
    public init(contentsOf path: String) throws(ImagingError) {
        let bytes = try readFile(path)
        try self.init(decoding: bytes, file: path)
    }

    /// Decodes JPEG or PNG `bytes` (format from the magic bytes) to 8-bit RGB as
    /// PIL's `convert("RGB")` does: gray replicated, alpha dropped (not
    /// composited), CMYK/YCCK JPEG through Pillow's inverted-Adobe CMYK formula,
    /// 16-bit PNG reduced as PIL reduces it; no gamma, ICC or EXIF orientation.
    ///
    /// - Parameter file: the name used in error messages.
    public init(decoding bytes: [UInt8], file: String) throws(ImagingError) {
        guard !bytes.isEmpty else { throw ImagingError(file: file, problem: .empty) }
        guard let format = ImageFormat.detect(bytes) else {
            throw ImagingError(file: file, problem: .unknownFormat(ImageFormat.describeUnknown(bytes)))
        }
        var decoded = ic_decoded_image()
        let messageCapacity = 256
        var message = [CChar](repeating: 0, count: messageCapacity)
        let status = bytes.withUnsafeBufferPointer { data in
            message.withUnsafeMutableBufferPointer { text in
                switch format {
                case .jpeg:
                    return ic_decode_jpeg(data.baseAddress, data.count, &decoded, text.baseAddress, messageCapacity)
                case .png:
                    return ic_decode_png(data.baseAddress, data.count, &decoded, text.baseAddress, messageCapacity)
                }
            }
        }
        defer { ic_free_pixels(&decoded) }
        guard status == 0, let samples = decoded.pixels else {
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw ImagingError(file: file, problem: .invalidData(format: format, message: text))
        }
        let layout: SampleLayout
        switch decoded.layout {
        case IC_LAYOUT_GRAY: layout = .gray
        case IC_LAYOUT_GRAY_ALPHA: layout = .grayAlpha
        case IC_LAYOUT_RGB: layout = .rgb
        case IC_LAYOUT_RGBA: layout = .rgba
        default: layout = .adobeCMYK
        }
        let width = Int(decoded.width), height = Int(decoded.height)
        let rgb = convertToRGB(samples: samples, pixelCount: width * height,
                               layout: layout, bitDepth: Int(decoded.bit_depth))
        self.init(width: width, height: height, pixels: rgb)
    }
}

/// The whole file at `path`, or an `ImagingError` with the system's reason.
func readFile(_ path: String) throws(ImagingError) -> [UInt8] {
    func failure() -> ImagingError {
        ImagingError(file: path, problem: .unreadable(String(cString: strerror(errno))))
    }
    guard let stream = fopen(path, "rb") else { throw failure() }
    defer { fclose(stream) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, stream) }
        bytes.append(contentsOf: chunk.prefix(count))
        if count < chunk.count {
            if ferror(stream) != 0 { throw failure() }
            return bytes
        }
    }
}
