import CImagingCodecs
import Safety

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
        let bytes = try readImageFile(path)
        try self.init(decoding: bytes, file: path)
    }

    /// Decodes JPEG or PNG `bytes` (format from the magic bytes) to 8-bit RGB as
    /// PIL's `convert("RGB")` does: gray replicated, alpha dropped (not
    /// composited), CMYK/YCCK JPEG through Pillow's inverted-Adobe CMYK formula,
    /// 16-bit PNG reduced as PIL reduces it; no gamma, ICC or EXIF orientation.
    ///
    /// The declared size is checked against `ImageLimits.maxPixels` before
    /// anything is decoded; the pixels are then decoded straight into the
    /// final RGB buffer (one image-sized allocation), except CMYK JPEG and
    /// 16-bit gray PNG, which go through one intermediate buffer.
    ///
    /// - Parameters:
    ///   - bytes: the file's contents (JPEG or PNG).
    ///   - file: the name used in error messages.
    public init(decoding bytes: [UInt8], file: String) throws(ImagingError) {
        try self.init(decoding: bytes, file: file, checkingSize: { (_: Int, _: Int) throws(ImagingError) in })
    }

    /// `init(decoding:file:)`, calling `checkSize(width, height)` with the
    /// declared size (within the pixel limit) before decoding.
    init(decoding bytes: [UInt8], file: String,
         checkingSize checkSize: (Int, Int) throws(ImagingError) -> Void) throws(ImagingError) {
        guard !bytes.isEmpty else { throw ImagingError(file: file, problem: .empty) }
        guard let format = ImageFormat.detect(bytes) else {
            throw ImagingError(file: file, problem: .unknownFormat(ImageFormat.describeUnknown(bytes)))
        }
        let limit = ImageLimits.maxPixels
        let header = try runDecoder(format, bytes, file: file, limit: limit, headerOnly: true, into: nil)
        let width = Int(header.width), height = Int(header.height)
        try checkSize(width, height)
        if header.layout == IC_LAYOUT_RGB && header.bit_depth == 8 {
            let count = width * height * 3
            var failure: ImagingError?
            let rgb = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                do throws(ImagingError) {
                    _ = try runDecoder(format, bytes, file: file, limit: limit, headerOnly: false,
                                       into: UnsafeMutableBufferPointer(rebasing: buffer[0 ..< count]))
                    initialized = count
                } catch {
                    failure = error
                    initialized = 0
                }
            }
            if let failure { throw failure }
            self.init(width: width, height: height, pixels: rgb)
            return
        }
        var decoded = try runDecoder(format, bytes, file: file, limit: limit, headerOnly: false, into: nil)
        defer { ic_free_pixels(&decoded) }
        let layout: SampleLayout
        switch decoded.layout {
        case IC_LAYOUT_GRAY: layout = .gray
        case IC_LAYOUT_GRAY_ALPHA: layout = .grayAlpha
        case IC_LAYOUT_RGB: layout = .rgb
        case IC_LAYOUT_RGBA: layout = .rgba
        default: layout = .adobeCMYK
        }
        let rgb = convertToRGB(samples: decoded.pixels, pixelCount: width * height,
                               layout: layout, bitDepth: Int(decoded.bit_depth))
        self.init(width: width, height: height, pixels: rgb)
    }
}

/// One call of the C decoder for `format`: the header only, or the whole image
/// into `destination` (exactly its size) or into memory it mallocs (the
/// caller frees it with `ic_free_pixels`).
private func runDecoder(_ format: ImageFormat, _ bytes: [UInt8], file: String, limit: Int,
                        headerOnly: Bool, into destination: UnsafeMutableBufferPointer<UInt8>?)
    throws(ImagingError) -> ic_decoded_image {
    var decoded = ic_decoded_image()
    let messageCapacity = 256
    var message = [CChar](repeating: 0, count: messageCapacity)
    let status = bytes.withUnsafeBufferPointer { data in
        message.withUnsafeMutableBufferPointer { text in
            switch format {
            case .jpeg:
                return ic_decode_jpeg(data.baseAddress, data.count, Int64(limit), headerOnly ? 1 : 0,
                                      destination?.baseAddress, destination?.count ?? 0,
                                      &decoded, text.baseAddress, messageCapacity)
            case .png:
                return ic_decode_png(data.baseAddress, data.count, Int64(limit), headerOnly ? 1 : 0,
                                     destination?.baseAddress, destination?.count ?? 0,
                                     &decoded, text.baseAddress, messageCapacity)
            }
        }
    }
    if status == IC_TOO_MANY_PIXELS {
        throw ImagingError(file: file, problem: .tooManyPixels(width: Int(decoded.width),
                                                               height: Int(decoded.height), limit: limit))
    }
    guard status == 0, headerOnly || destination != nil || decoded.pixels != nil else {
        ic_free_pixels(&decoded)
        let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        throw ImagingError(file: file, problem: .invalidData(format: format, message: text))
    }
    return decoded
}

/// The whole file at `path`, or an `ImagingError` with the reason. Only a
/// regular file (after following symlinks) of at most `ImageLimits.maxFileBytes`
/// is read: a FIFO, device, socket or folder is refused before it is opened
/// for reading (it could block forever or never end), and so is a larger
/// file; a symlink loop gives the system's "Too many levels of symbolic links".
/// The bytes are read into one buffer of the file's size.
public func readImageFile(_ path: String) throws(ImagingError) -> [UInt8] {
    func failure(_ reason: String? = nil) -> ImagingError {
        ImagingError(file: path, problem: .unreadable(reason ?? String(cString: strerror(errno))))
    }
    let fd: Int32, size: Int
    do { (fd, size) = try openRegularFile(path, maxBytes: ImageLimits.maxFileBytes, what: "an image file") } catch {
        if case .missing(let words)? = error as? RegularFileError { throw ImagingError(file: path, problem: .missing(words)) }
        throw failure((error as? RegularFileError)?.reason ?? "\(error)")
    }
    defer { close(fd) }
    var readError: Int32 = 0
    let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
        var done = 0
        while done < size {
            let n = read(fd, buffer.baseAddress! + done, size - done)
            if n > 0 { done += n; continue }
            if n == 0 { break }                          // the file shrank meanwhile
            if errno == EINTR || errno == EAGAIN { continue }
            readError = errno
            break
        }
        initialized = done
    }
    if readError != 0 {
        errno = readError
        throw failure()
    }
    return bytes
}
