/// The evaluation transform of timm/DeiT as torchvision applies it to a PIL image:
///
///     Resize(int(size / cropPct), BICUBIC)   shorter side, PIL's antialiased bicubic
///     CenterCrop(size)
///     ToTensor()                             x / 255, HWC -> CHW
///     Normalize(mean, std)                   (x - mean[c]) / std[c]
///
/// Preprocessing (size, cropPct, mean, std) belongs with the weights' config,
/// not with the model: DeiT's original code used cropPct 0.875, newer timm 0.9.
public struct Preprocessing: Sendable, Equatable {
    /// Side of the square crop fed to the network, in pixels.
    public var size: Int
    /// Fraction of the resized shorter side that the crop keeps.
    public var cropPct: Double
    /// Per-channel (R, G, B) mean and standard deviation of the [0, 1] inputs.
    public var mean: SIMD3<Float>
    public var std: SIMD3<Float>
    /// When set, the crop is reduced to this side and enlarged back to `size`
    /// (PIL-style bicubic both ways) before normalising: what a server sees of
    /// an image transmitted at low resolution (the low-resolution baseline).
    public var lowResolution: Int?
    /// When set, the crop is coded as one JPEG at this quality (4:2:0,
    /// `RGBImage.jpegData`) and decoded as PIL decodes before normalising:
    /// what a server sees of an image transmitted whole as a JPEG (the
    /// ordinary system's baseline, `full-jpeg:Q` in the wire format).
    public var jpegQuality: Int?

    /// The sides and crop fractions accepted from options and config files:
    /// a crop fraction in [0.05, 1] keeps the resized side <= 20 x size.
    public static let sizes = 1...4096
    public static let cropPcts = 0.05...1.0

    /// ImageNet's channel statistics, as timm's IMAGENET_DEFAULT_MEAN / _STD.
    public static let imagenetMean = SIMD3<Float>(0.485, 0.456, 0.406)
    public static let imagenetStd = SIMD3<Float>(0.229, 0.224, 0.225)
    /// The resampling of every resize, by timm's name: PIL's antialiased
    /// bicubic, the only one implemented (recorded in every file semcom writes).
    public static let interpolation = "bicubic"

    public init(size: Int = 224, cropPct: Double = 0.875,
                mean: SIMD3<Float> = Preprocessing.imagenetMean,
                std: SIMD3<Float> = Preprocessing.imagenetStd) {
        self.size = size
        self.cropPct = cropPct
        self.mean = mean
        self.std = std
    }

    /// The shorter side after resizing: `int(size / cropPct)` (256 for 224 / 0.875).
    public var resizeShorterSide: Int {
        precondition(cropPct > 0 && cropPct.isFinite, "cropPct must be positive, got \(cropPct)")
        return Int(Double(size) / cropPct)
    }

    /// Resize + CenterCrop of a decoded image: the `size` x `size` x 3 8-bit
    /// crop that the network sees (before scaling), e.g. for overlays. Only the
    /// resized pixels inside the crop are computed; they equal Pillow's.
    public func crop(_ image: RGBImage) -> RGBImage {
        precondition(size > 0 && resizeShorterSide > 0, "invalid preprocessing \(self)")
        let resized = resizedToShorterSide(width: image.width, height: image.height,
                                           shorterSide: resizeShorterSide)
        let g = CenterCropGeometry(imageWidth: resized.width, imageHeight: resized.height,
                                   cropWidth: size, cropHeight: size)
        if g.left >= 0, g.top >= 0, g.left + size <= resized.width, g.top + size <= resized.height {
            return image.resampledBicubic(width: resized.width, height: resized.height,
                                          window: PixelWindow(x: g.left, y: g.top, width: size, height: size))
        }
        // Crop larger than the resized image (cropPct > 1): pad with zeros.
        return image.resizedBicubic(width: resized.width, height: resized.height)
            .centerCropped(width: size, height: size)
    }

    /// ToTensor + Normalize: image (H x W x 3, 8-bit) to Float CHW (3 x H x W),
    /// value (x / 255 - mean[c]) / std[c] in Float32 arithmetic, as torch does.
    public func normalize(_ image: RGBImage) -> [Float] {
        let plane = image.width * image.height
        return [Float](unsafeUninitializedCapacity: 3 * plane) { out, initialized in
            image.pixels.withUnsafeBufferPointer { hwc in
                for c in 0..<3 {
                    let m = mean[c], s = std[c]
                    for i in 0..<plane {
                        out[c * plane + i] = (Float(hwc[i * 3 + c]) / 255 - m) / s
                    }
                }
            }
            initialized = 3 * plane
        }
    }

    /// The network input for a decoded image: `normalize(crop(image))`
    /// (through the low-resolution round trip when `lowResolution` is set),
    /// 3 x size x size Float, CHW.
    public func networkInput(_ image: RGBImage) -> [Float] {
        networkInput(cropped: crop(image))
    }

    /// The network input from an image already cropped by `crop` (size x size):
    /// `normalize`, through the JPEG round trip when `jpegQuality` is set and
    /// the low-resolution round trip when `lowResolution` is.
    public func networkInput(cropped c: RGBImage) -> [Float] {
        var c = c
        if let q = jpegQuality {
            // Unreachable from files, options and caches: every quality set here comes
            // checked to 1-100 (`--model ...@jpeg:Q`, a cache's `jpeg_quality`), and
            // libjpeg does not fail on pixels in memory or on its own output.
            do { c = try RGBImage(decoding: c.jpegData(quality: q), file: "crop") } catch {
                fatalError("libjpeg failed on a crop it encoded itself: \(error)")
            }
        }
        guard let r = lowResolution else { return normalize(c) }
        return normalize(c.resizedBicubic(width: r, height: r).resizedBicubic(width: size, height: size))
    }

    /// The 8-bit crop (size x size x 3) of the JPEG or PNG file at `path`.
    /// - Throws: `ImagingError` naming `path`, also when the image or its
    ///   resize is over `ImageLimits.maxPixels` (see `image(decoding:file:)`).
    public func croppedImage(contentsOf path: String) throws(ImagingError) -> RGBImage {
        crop(try image(decoding: try readImageFile(path), file: path))
    }

    /// The network input (3 x size x size Float, CHW) for the JPEG or PNG file at `path`.
    /// - Throws: `ImagingError` naming `path`, also when the image or its
    ///   resize is over `ImageLimits.maxPixels` (see `image(decoding:file:)`).
    public func networkInput(contentsOf path: String) throws(ImagingError) -> [Float] {
        networkInput(try image(decoding: try readImageFile(path), file: path))
    }

    /// `RGBImage(decoding:file:)` for this preprocessing: before decoding, the
    /// declared size is checked against `ImageLimits.maxPixels` and so is the
    /// size the resize would give it (an image of 1,000,000 x 1 pixels is
    /// within the limit but resizes to 256,000,000 x 256, an image PIL would
    /// allocate): over either, an `ImagingError` naming the file and sizes.
    public func image(decoding bytes: [UInt8], file: String) throws(ImagingError) -> RGBImage {
        try RGBImage(decoding: bytes, file: file) { (width: Int, height: Int) throws(ImagingError) in
            try checkResize(width: width, height: height, file: file)
        }
    }

    /// Throws `.resizeTooLarge` when resizing a `width` x `height` image to
    /// the shorter side `resizeShorterSide` gives more than `ImageLimits.maxPixels`.
    func checkResize(width: Int, height: Int, file: String) throws(ImagingError) {
        let limit = ImageLimits.maxPixels
        let resized = resizedToShorterSide(width: width, height: height, shorterSide: resizeShorterSide)
        let (pixels, overflow) = resized.width.multipliedReportingOverflow(by: resized.height)
        if overflow || pixels > limit {
            throw ImagingError(file: file, problem: .resizeTooLarge(
                width: width, height: height, resizedWidth: resized.width, resizedHeight: resized.height, limit: limit))
        }
    }
}
