/// How decoded samples are laid out, after libjpeg or libpng and before PIL's
/// `Image.convert("RGB")`.
enum SampleLayout: Sendable {
    case gray, grayAlpha, rgb, rgba
    /// Four samples as an Adobe JPEG stores them (inverted C, M, Y, K).
    case adobeCMYK

    var channels: Int {
        switch self {
        case .gray: return 1
        case .grayAlpha: return 2
        case .rgb: return 3
        case .rgba, .adobeCMYK: return 4
        }
    }
}

/// PIL's `Image.convert("RGB")` for decoded samples (`pixelCount` pixels of
/// `layout.channels` samples, `bitDepth` 8 or 16 bits, 16-bit big-endian).
///
/// The rules are PIL's own (its unpackers plus Convert.c), not colour science:
/// - gray: R = G = B = gray; alpha, where present, is dropped (never composited);
/// - 16-bit RGB(A) and gray+alpha: the high byte of each sample (`v >> 8`);
/// - 16-bit gray (PIL mode "I;16"): clipped, `min(v, 255)`, not scaled;
/// - Adobe CMYK (PIL "CMYK;I"): C = 255 - stored, ..., K = 255 - stored, then
///   with nk = 255 - K: R = nk - C * nk / 255 (PIL's MULDIV255 rounding), same
///   for G from M and B from Y.
func convertToRGB(samples: UnsafePointer<UInt8>, pixelCount: Int,
                  layout: SampleLayout, bitDepth: Int) -> [UInt8] {
    precondition(bitDepth == 8 || bitDepth == 16, "bit depth \(bitDepth)")
    let stride = layout.channels * bitDepth / 8
    if layout == .rgb && bitDepth == 8 {
        return Array(UnsafeBufferPointer(start: samples, count: pixelCount * 3))
    }
    return [UInt8](unsafeUninitializedCapacity: pixelCount * 3) { rgb, initialized in
        // One loop per case, so that the per-pixel work has no branches.
        func each(_ body: (UnsafePointer<UInt8>, Int) -> Void) {
            for i in 0..<pixelCount { body(samples + i * stride, i * 3) }
        }
        switch (layout, bitDepth) {
        case (.gray, 8), (.grayAlpha, 8), (.grayAlpha, _):
            each { s, o in rgb[o] = s[0]; rgb[o + 1] = s[0]; rgb[o + 2] = s[0] }
        case (.rgb, 8), (.rgba, 8):
            each { s, o in rgb[o] = s[0]; rgb[o + 1] = s[1]; rgb[o + 2] = s[2] }
        case (.gray, _):
            each { s, o in
                let value = s[0] == 0 ? s[1] : 255
                rgb[o] = value; rgb[o + 1] = value; rgb[o + 2] = value
            }
        case (.rgb, _), (.rgba, _):
            each { s, o in rgb[o] = s[0]; rgb[o + 1] = s[2]; rgb[o + 2] = s[4] }
        case (.adobeCMYK, _):
            each { s, o in
                let notK = Int(s[3])  // 255 - K, with K = 255 - stored
                rgb[o] = UInt8(clamping: notK - mulDiv255(255 - Int(s[0]), notK))
                rgb[o + 1] = UInt8(clamping: notK - mulDiv255(255 - Int(s[1]), notK))
                rgb[o + 2] = UInt8(clamping: notK - mulDiv255(255 - Int(s[2]), notK))
            }
        }
        initialized = pixelCount * 3
    }
}

/// `a * b / 255` rounded as PIL's MULDIV255: t = a b + 128, ((t >> 8) + t) >> 8.
@inline(__always)
func mulDiv255(_ a: Int, _ b: Int) -> Int {
    let t = a * b + 128
    return ((t >> 8) + t) >> 8
}
