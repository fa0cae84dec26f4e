/// The limits that keep hostile or broken image files from hanging a reader or
/// exhausting memory. They are checked before any pixel is decoded.
public enum ImageLimits {
    /// PIL's `Image.MAX_IMAGE_PIXELS`: 89,478,485 pixels (about 0.25 GiB of
    /// 24-bit RGB), its decompression-bomb threshold.
    public static let defaultMaxPixels = 89_478_485

    /// The most pixels (width x height, as the JPEG or PNG header declares
    /// them) an image may have to be decoded, and the most a resize in
    /// `Preprocessing` may produce from it. Larger images are an
    /// `ImagingError` (`.tooManyPixels`) naming the file and its declared
    /// size, never decoded. Default `defaultMaxPixels`; raised by the CLI's
    /// `--max-image-pixels N`. Set it once, before decoding starts (it is read
    /// by every decoding thread without a lock).
    nonisolated(unsafe) public static var maxPixels = defaultMaxPixels

    /// The largest image file read, in bytes: 256 MiB. A larger file is an
    /// error before anything is read (no JPEG or PNG within `maxPixels` needs
    /// more; a bigger one is a mistake or an attack).
    public static let maxFileBytes = 256 << 20
}
