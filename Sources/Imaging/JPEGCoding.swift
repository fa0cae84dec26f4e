import CImagingCodecs

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a JPEG encoder samples the two chroma planes.
public enum ChromaSampling: Int, Sendable, Equatable, CaseIterable {
    /// 4:4:4: chroma at full resolution; a minimum coded unit (MCU) is 8 x 8 pixels.
    case full = 1
    /// 4:2:0: chroma at half resolution both ways; an MCU is 16 x 16 pixels.
    case half = 2

    /// Side of the minimum coded unit in pixels (8 or 16).
    public var mcuSide: Int { 8 * rawValue }

    /// The name JPEG tools use: "4:4:4" or "4:2:0".
    public var name: String { self == .full ? "4:4:4" : "4:2:0" }
}

extension RGBImage {
    /// This image as a baseline JPEG (libjpeg-turbo): `quality` 1-100 (the
    /// standard tables scaled, as `cjpeg -quality`), `chroma` sampling,
    /// accurate integer DCT, the standard Huffman tables (not optimised),
    /// a JFIF header and nothing else.
    ///
    /// - Throws: `ImagingError` (`.invalidData`) naming `name` when libjpeg
    ///   fails or `quality` is outside 1-100.
    public func jpegData(quality: Int, chroma: ChromaSampling = .half, name: String = "JPEG") throws(ImagingError) -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        let capacity = 256
        var message = [CChar](repeating: 0, count: capacity)
        let status = pixels.withUnsafeBufferPointer { rgb in
            ic_encode_jpeg(rgb.baseAddress, Int32(width), Int32(height), Int32(clamping: quality), Int32(chroma.rawValue),
                           &out, &size, &message, capacity)
        }
        guard status == 0, let out else {
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw ImagingError(file: name, problem: .invalidData(format: .jpeg, message: text))
        }
        defer { free(out) }
        return Array(UnsafeBufferPointer(start: out, count: size))
    }

    /// Decodes a 3-component JPEG (as `jpegData` writes) block by block:
    /// subsampled chroma is replicated within its MCU, not interpolated from
    /// neighbouring MCUs (libjpeg's `do_fancy_upsampling = FALSE`), so each
    /// MCU's pixels depend on its own coded data only. Not PIL's decode
    /// (`init(decoding:file:)` is); this is the decoder of patch mosaics.
    ///
    /// - Throws: `ImagingError` naming `file` when the data is not such a
    ///   JPEG, is corrupt or truncated, or declares more than `maxPixels`.
    public init(decodingJPEGBlockwise bytes: [UInt8], file: String, maxPixels: Int = ImageLimits.maxPixels) throws(ImagingError) {
        guard ImageFormat.detect(bytes) == .jpeg else {
            throw ImagingError(file: file, problem: .unknownFormat(ImageFormat.describeUnknown(bytes)))
        }
        var decoded = ic_decoded_image()
        let capacity = 256
        var message = [CChar](repeating: 0, count: capacity)
        let status = bytes.withUnsafeBufferPointer { data in
            ic_decode_jpeg_blockwise(data.baseAddress, data.count, Int64(maxPixels), nil, 0, &decoded, &message, capacity)
        }
        defer { ic_free_pixels(&decoded) }
        if status == IC_TOO_MANY_PIXELS {
            throw ImagingError(file: file, problem: .tooManyPixels(width: Int(decoded.width), height: Int(decoded.height), limit: maxPixels))
        }
        guard status == 0, let pixels = decoded.pixels else {
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw ImagingError(file: file, problem: .invalidData(format: .jpeg, message: text))
        }
        guard decoded.layout == IC_LAYOUT_RGB else {
            throw ImagingError(file: file, problem: .invalidData(format: .jpeg, message: "a CMYK JPEG, where a 3-component one was expected"))
        }
        let count = Int(decoded.width) * Int(decoded.height) * 3
        self.init(width: Int(decoded.width), height: Int(decoded.height), pixels: Array(UnsafeBufferPointer(start: pixels, count: count)))
    }
}
