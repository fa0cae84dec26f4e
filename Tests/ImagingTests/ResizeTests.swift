import XCTest
@testable import Imaging

/// Bicubic resizing against Pillow's `Image.resize(size, Image.BICUBIC)`.
final class ResizeTests: XCTestCase {
    /// On PIL's own decoded pixels (an exactly decoded PNG) the resize is exact.
    func testResizeMatchesPillowExactly() throws {
        let manifest = try FixtureManifest.load()
        XCTAssertFalse(manifest.resizes.isEmpty)
        for resize in manifest.resizes {
            let source = try RGBImage(contentsOf: fixturePath(resize.source))
            let expected = try rgbImage(npy: resize.file)
            let resized = source.resizedBicubic(width: resize.width, height: resize.height)
            XCTAssertEqual(resized.width, resize.width)
            XCTAssertEqual(resized.height, resize.height)
            let agreement = Agreement(resized.pixels, expected.pixels)
            print("resize \(source.width)x\(source.height) -> \(resize.width)x\(resize.height): \(agreement)")
            XCTAssertEqual(agreement.maxDifference, 0, "\(resize.file): \(agreement)")
        }
    }

    /// Computing only a window of the output gives the same pixels as resizing
    /// everything and cropping afterwards.
    func testWindowEqualsResizeThenCrop() {
        var generator = SplitMix64(seed: 7)
        let image = RGBImage(width: 37, height: 23, pixels: (0 ..< 37 * 23 * 3).map { _ in generator.byte() })
        for (w, h) in [(20, 50), (37, 11), (80, 23), (37, 23), (9, 9), (60, 4), (30, 3), (36, 2)] {
            let full = image.resizedBicubic(width: w, height: h)
            for window in [PixelWindow(x: 0, y: 0, width: w, height: h),
                           PixelWindow(x: w / 3, y: h / 4, width: w - w / 3, height: max(1, h / 2)),
                           PixelWindow(x: w - 1, y: h - 1, width: 1, height: 1)] {
                let part = image.resampledBicubic(width: w, height: h, window: window)
                let cropped = copyRegion(full.pixels, width: w, rows: window.y ..< window.y + window.height,
                                         columns: window.x ..< window.x + window.width)
                XCTAssertEqual(part.pixels, cropped, "\(w)x\(h) window \(window)")
            }
        }
    }

    /// Pillow >= 13 runs the vertical pass first when the height shrinks by more
    /// than twice as many pixels as the width.
    func testPassOrder() {
        XCTAssertFalse(resampleVerticalFirst(inWidth: 500, inHeight: 375, outWidth: 341, outHeight: 256))
        XCTAssertFalse(resampleVerticalFirst(inWidth: 335, inHeight: 500, outWidth: 256, outHeight: 382))
        XCTAssertTrue(resampleVerticalFirst(inWidth: 300, inHeight: 1000, outWidth: 256, outHeight: 853))
        XCTAssertTrue(resampleVerticalFirst(inWidth: 120, inHeight: 90, outWidth: 170, outHeight: 40))
        XCTAssertFalse(resampleVerticalFirst(inWidth: 50, inHeight: 40, outWidth: 80, outHeight: 40))
        XCTAssertFalse(resampleVerticalFirst(inWidth: 40, inHeight: 50, outWidth: 40, outHeight: 80))
    }

    func testSameSizeIsIdentityAndConstantStaysConstant() {
        var generator = SplitMix64(seed: 3)
        let image = RGBImage(width: 13, height: 7, pixels: (0 ..< 13 * 7 * 3).map { _ in generator.byte() })
        XCTAssertEqual(image.resizedBicubic(width: 13, height: 7), image)
        let flat = RGBImage(width: 19, height: 11, pixels: [UInt8](repeating: 200, count: 19 * 11 * 3))
        for (w, h) in [(5, 3), (40, 30), (19, 2), (1, 1)] {
            XCTAssertEqual(Set(flat.resizedBicubic(width: w, height: h).pixels), [200], "\(w)x\(h)")
        }
    }

    /// Pillow's coefficient tables: windows inside the input, weights summing to
    /// about 2^22, the kernel widened by the scale factor when downscaling.
    func testResampleAxisCoefficients() {
        for (inSize, outSize) in [(375, 256), (100, 73), (80, 248), (256, 256), (909, 256), (5, 1)] {
            let axis = ResampleAxis(inSize: inSize, outSize: outSize)
            let scale = max(Double(inSize) / Double(outSize), 1)
            XCTAssertEqual(axis.taps, Int((2 * scale).rounded(.up)) * 2 + 1)
            for i in 0..<outSize {
                XCTAssertGreaterThanOrEqual(axis.start[i], 0)
                XCTAssertLessThanOrEqual(axis.start[i] + axis.count[i], inSize)
                XCTAssertLessThanOrEqual(axis.count[i], axis.taps)
                let sum = (0..<axis.count[i]).reduce(0) { $0 + Int(axis.weights[i * axis.taps + $1]) }
                XCTAssertLessThanOrEqual(abs(sum - (1 << 22)), axis.count[i], "\(inSize)->\(outSize) output \(i)")
            }
        }
        XCTAssertEqual(bicubicKernel(0), 1)
        XCTAssertEqual(bicubicKernel(1), 0)
        XCTAssertEqual(bicubicKernel(-1.5), -0.0625)
        XCTAssertEqual(bicubicKernel(2), 0)
    }
}

/// A small deterministic generator for test images.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next() >> 56) }
}
