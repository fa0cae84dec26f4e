/// An 8-bit RGB image: `height` rows of `width` pixels, top row first, the three
/// samples of a pixel adjacent (H x W x 3, "HWC", the layout of PIL's
/// `numpy.asarray(image.convert("RGB"))`).
public struct RGBImage: Sendable, Equatable {
    /// Columns, at least 1.
    public let width: Int
    /// Rows, at least 1.
    public let height: Int
    /// `height * width * 3` samples; sample (y, x, c) is at `(y * width + x) * 3 + c`.
    public private(set) var pixels: [UInt8]

    /// Wraps `pixels` (H x W x 3); their count must be `height * width * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0, "an image needs at least one pixel, got \(width)x\(height)")
        precondition(pixels.count == width * height * 3,
                     "\(width)x\(height)x3 image needs \(width * height * 3) samples, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Sample `channel` (0 red, 1 green, 2 blue) of the pixel in column `x`, row `y`.
    public subscript(x x: Int, y y: Int, channel channel: Int) -> UInt8 {
        get { pixels[(y * width + x) * 3 + channel] }
        set { pixels[(y * width + x) * 3 + channel] = newValue }
    }
}
