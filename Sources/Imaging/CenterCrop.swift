/// Where torchvision's `CenterCrop((height, width))` takes its pixels from an
/// image of `imageWidth` x `imageHeight`:
///
/// - a crop larger than the image along an axis first pads that axis with zeros,
///   (crop - image) // 2 before and (crop - image + 1) // 2 after;
/// - then the offset is `int(round((padded - crop) / 2.0))`, Python's round
///   (halves to even).
///
/// Output pixel (x, y) is image pixel (x + left, y + top), or zero where that
/// falls outside the image (only when padding was needed).
struct CenterCropGeometry: Sendable, Equatable {
    /// Column and row of the image that output pixel (0, 0) comes from (negative when padded).
    let left: Int
    let top: Int

    init(imageWidth: Int, imageHeight: Int, cropWidth: Int, cropHeight: Int) {
        func offset(image: Int, crop: Int) -> Int {
            let before = crop > image ? (crop - image) / 2 : 0
            let after = crop > image ? (crop - image + 1) / 2 : 0
            let padded = image + before + after
            return Int((Double(padded - crop) / 2.0).rounded(.toNearestOrEven)) - before
        }
        left = offset(image: imageWidth, crop: cropWidth)
        top = offset(image: imageHeight, crop: cropHeight)
    }
}

extension RGBImage {
    /// torchvision's `CenterCrop((height, width))` of this image (zero-padded
    /// first where the crop is larger), `height` x `width` x 3.
    public func centerCropped(width cropWidth: Int, height cropHeight: Int) -> RGBImage {
        precondition(cropWidth > 0 && cropHeight > 0, "crop to \(cropWidth)x\(cropHeight)")
        let g = CenterCropGeometry(imageWidth: width, imageHeight: height,
                                   cropWidth: cropWidth, cropHeight: cropHeight)
        if g.left >= 0, g.top >= 0, g.left + cropWidth <= width, g.top + cropHeight <= height {
            return RGBImage(width: cropWidth, height: cropHeight,
                            pixels: copyRegion(pixels, width: width, rows: g.top ..< g.top + cropHeight,
                                               columns: g.left ..< g.left + cropWidth))
        }
        var out = RGBImage(width: cropWidth, height: cropHeight,
                           pixels: [UInt8](repeating: 0, count: cropWidth * cropHeight * 3))
        for y in 0..<cropHeight where (0..<height).contains(y + g.top) {
            for x in 0..<cropWidth where (0..<width).contains(x + g.left) {
                for c in 0..<3 { out[x: x, y: y, channel: c] = self[x: x + g.left, y: y + g.top, channel: c] }
            }
        }
        return out
    }
}

/// torchvision's `Resize(shorterSide)` output size for a PIL image of
/// `width` x `height`: the shorter side becomes `shorterSide`, the longer
/// `int(shorterSide * long / short)` (truncated; ties, width <= height, count
/// the width as the shorter side).
func resizedToShorterSide(width: Int, height: Int, shorterSide: Int) -> (width: Int, height: Int) {
    let (short, long) = width <= height ? (width, height) : (height, width)
    let newLong = Int(Double(shorterSide * long) / Double(short))
    return width <= height ? (shorterSide, newLong) : (newLong, shorterSide)
}
