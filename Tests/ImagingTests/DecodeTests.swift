import XCTest
@testable import Imaging

/// Decoding every fixture kind, compared with PIL's `Image.open(f).convert("RGB")`.
final class DecodeTests: XCTestCase {
    override func tearDown() {
        removeTemporaryFiles()
        super.tearDown()
    }

    /// PNG decoding must be exact. JPEG decoding goes through Debian's
    /// libjpeg-turbo (2.1.5) while the references come from the one bundled
    /// with Pillow (3.2.0 in Pillow 13); both use the accurate integer IDCT and
    /// fancy upsampling. Measured: identical on every fixture and on all 53
    /// JPEGs of shared/imagenet-sample. The tolerance (one level, 99 % exact)
    /// leaves room for another libjpeg-turbo build, not for another algorithm.
    static let jpegMaxDifference = 1
    static let jpegMinExactFraction = 0.99

    func testEveryKindMatchesPIL() throws {
        let manifest = try FixtureManifest.load()
        var checked = 0
        for fixture in manifest.cases {
            guard let reference = fixture.rgb else { continue }
            let decoded = try RGBImage(contentsOf: fixturePath(fixture.file))
            let expected = try rgbImage(npy: reference)
            XCTAssertEqual(decoded.width, fixture.width, fixture.name)
            XCTAssertEqual(decoded.height, fixture.height, fixture.name)
            let agreement = Agreement(decoded.pixels, expected.pixels)
            print("decode \(fixture.name) (PIL mode \(fixture.pil_mode), \(fixture.width)x\(fixture.height)): \(agreement)")
            if fixture.file.hasSuffix(".png") {
                XCTAssertEqual(agreement.maxDifference, 0, "\(fixture.name): \(agreement)")
            } else {
                XCTAssertLessThanOrEqual(agreement.maxDifference, Self.jpegMaxDifference, "\(fixture.name): \(agreement)")
                XCTAssertGreaterThanOrEqual(agreement.exactFraction, Self.jpegMinExactFraction,
                                            "\(fixture.name): \(agreement)")
            }
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 20, "fixtures missing: run Scripts/make_imaging_fixtures.py")
    }

    func testFormatComesFromMagicBytesNotExtension() throws {
        // A PNG named .jpg and a JPEG named .png (ImageNet has such files).
        let png = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixturePath("png_rgb.png"))))
        let jpeg = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixturePath("jpeg_baseline.jpg"))))
        XCTAssertEqual(ImageFormat.detect(png), .png)
        XCTAssertEqual(ImageFormat.detect(jpeg), .jpeg)
        let fromPNG = try RGBImage(contentsOf: temporaryFile("really-a-png.jpg", png))
        let fromJPEG = try RGBImage(contentsOf: temporaryFile("really-a-jpeg.png", jpeg))
        XCTAssertEqual(fromPNG, try RGBImage(contentsOf: fixturePath("png_rgb.png")))
        XCTAssertEqual(fromJPEG, try RGBImage(contentsOf: fixturePath("jpeg_baseline.jpg")))
    }

    func testAdobeCMYKFormula() {
        // Stored (inverted) samples -> PIL's cmyk2rgb, computed by hand.
        // C = 255 - 55 = 200, K = 255 - 205 = 50, nk = 205: R = 205 - (200*205+128 ...)/255 = 205 - 161 = 44.
        let stored: [UInt8] = [55, 255, 0, 205, 0, 0, 0, 0, 255, 255, 255, 255]
        let rgb = stored.withUnsafeBufferPointer {
            convertToRGB(samples: $0.baseAddress!, pixelCount: 3, layout: .adobeCMYK, bitDepth: 8)
        }
        XCTAssertEqual(rgb, [44, 205, 0, 0, 0, 0, 255, 255, 255])
    }

    func testSixteenBitReductionsFollowPIL() {
        // Gray "I;16": clipped at 255; RGB: high byte.
        let gray: [UInt8] = [0x00, 0x64, 0x00, 0xFF, 0x01, 0x00, 0xFF, 0xFF]
        let rgb16: [UInt8] = [0x12, 0xFF, 0x80, 0x01, 0xFF, 0x00]
        let g = gray.withUnsafeBufferPointer {
            convertToRGB(samples: $0.baseAddress!, pixelCount: 4, layout: .gray, bitDepth: 16)
        }
        let c = rgb16.withUnsafeBufferPointer {
            convertToRGB(samples: $0.baseAddress!, pixelCount: 1, layout: .rgb, bitDepth: 16)
        }
        XCTAssertEqual(g, [100, 100, 100, 255, 255, 255, 255, 255, 255, 255, 255, 255])
        XCTAssertEqual(c, [0x12, 0x80, 0xFF])
    }
}
