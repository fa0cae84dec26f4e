import XCTest
@testable import Imaging

/// The evaluation transform against PIL + torchvision references.
final class PreprocessingTests: XCTestCase {
    /// Crops of the synthetic fixtures: within one level of PIL, at least 99 %
    /// of samples exact (JPEG decoding may differ in rare samples; PNG is exact).
    func testCropsMatchPIL() throws {
        let manifest = try FixtureManifest.load()
        var checked = 0
        for fixture in manifest.cases {
            for crop in fixture.crops {
                let preprocessing = Preprocessing(size: crop.size, cropPct: crop.crop_pct)
                let ours = try preprocessing.croppedImage(contentsOf: fixturePath(fixture.file))
                let expected = try rgbImage(npy: crop.file)
                XCTAssertEqual(ours.width, crop.size)
                XCTAssertEqual(ours.height, crop.size)
                let agreement = Agreement(ours.pixels, expected.pixels)
                print("crop \(fixture.name) \(fixture.width)x\(fixture.height) size \(crop.size) "
                      + "cropPct \(crop.crop_pct): \(agreement)")
                XCTAssertLessThanOrEqual(agreement.maxDifference, 1, "\(crop.file): \(agreement)")
                XCTAssertGreaterThanOrEqual(agreement.exactFraction, 0.99, "\(crop.file): \(agreement)")
                if fixture.file.hasSuffix(".png") {
                    XCTAssertEqual(agreement.maxDifference, 0, "\(crop.file): \(agreement)")
                }
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 10)
    }

    /// Real ImageNet JPEGs (read from shared/imagenet-sample) against PIL's 224 crops.
    func testImageNetCropsMatchPIL() throws {
        guard FileManager.default.fileExists(atPath: imagenetDirectory.path) else {
            throw XCTSkip("\(imagenetDirectory.path) not found")
        }
        let manifest = try FixtureManifest.load()
        XCTAssertFalse(manifest.imagenet.isEmpty)
        for entry in manifest.imagenet {
            let original = imagenetDirectory.appendingPathComponent(entry.original).path
            let image = try RGBImage(contentsOf: original)
            XCTAssertEqual(image.width, entry.width)
            XCTAssertEqual(image.height, entry.height)
            let ours = Preprocessing().crop(image)
            let expected = try RGBImage(contentsOf: fixturePath(entry.crop224))
            let agreement = Agreement(ours.pixels, expected.pixels)
            print("imagenet \(entry.original) \(entry.width)x\(entry.height) crop 224: \(agreement)")
            XCTAssertLessThanOrEqual(agreement.maxDifference, 1, "\(entry.original): \(agreement)")
            XCTAssertGreaterThanOrEqual(agreement.exactFraction, 0.99, "\(entry.original): \(agreement)")
        }
    }

    /// ToTensor + Normalize on PIL's crop equals torch's float32 arithmetic.
    func testNormalizationMatchesTorch() throws {
        let manifest = try FixtureManifest.load()
        let fixture = try XCTUnwrap(manifest.cases.first { $0.input != nil })
        let crop = try XCTUnwrap(fixture.crops.first { $0.size == 64 })
        let expected = try NPYArray(contentsOf: fixturePath(try XCTUnwrap(fixture.input)))
        XCTAssertEqual(expected.shape, [3, 64, 64])
        let ours = Preprocessing(size: 64).normalize(try rgbImage(npy: crop.file))
        XCTAssertEqual(ours.count, 3 * 64 * 64)
        let worst = zip(ours, expected.float32).map { abs($0 - $1) }.max() ?? .infinity
        print("normalize \(fixture.name) 3x64x64: max |diff| \(worst)")
        XCTAssertLessThanOrEqual(worst, 1e-6)
    }

    func testNetworkInputIsCHWOfTheCrop() throws {
        let preprocessing = Preprocessing(size: 64)
        let path = fixturePath("jpeg_baseline.jpg")
        let input = try preprocessing.networkInput(contentsOf: path)
        let crop = try preprocessing.croppedImage(contentsOf: path)
        XCTAssertEqual(input.count, 3 * 64 * 64)
        for (x, y) in [(0, 0), (63, 0), (5, 40), (63, 63)] {
            for c in 0..<3 {
                let value = (Float(crop[x: x, y: y, channel: c]) / 255 - preprocessing.mean[c]) / preprocessing.std[c]
                XCTAssertEqual(input[c * 64 * 64 + y * 64 + x], value)
            }
        }
        // Black and white map to -mean/std and (1 - mean)/std.
        let black = preprocessing.normalize(RGBImage(width: 1, height: 1, pixels: [0, 0, 0]))
        let white = preprocessing.normalize(RGBImage(width: 1, height: 1, pixels: [255, 255, 255]))
        XCTAssertEqual(black[0], -0.485 / 0.229, accuracy: 1e-6)
        XCTAssertEqual(white[2], (1 - 0.406) / 0.225, accuracy: 1e-6)
    }

    /// torchvision's Resize(int) and CenterCrop geometry.
    func testTorchvisionGeometry() {
        XCTAssertEqual(Preprocessing().resizeShorterSide, 256)
        XCTAssertEqual(Preprocessing(cropPct: 0.9).resizeShorterSide, 248)
        XCTAssertEqual(Preprocessing(size: 384, cropPct: 1.0).resizeShorterSide, 384)
        let sizes = [(500, 375), (375, 500), (333, 500), (256, 256), (80, 100), (909, 768)]
            .map { resizedToShorterSide(width: $0.0, height: $0.1, shorterSide: 256) }
        XCTAssertEqual(sizes.map { [$0.width, $0.height] },
                       [[341, 256], [256, 341], [256, 384], [256, 256], [256, 320], [303, 256]])
        // Offsets: int(round(d / 2.0)) with halves to even: 16.5 -> 16, 17.5 -> 18.
        let g1 = CenterCropGeometry(imageWidth: 257, imageHeight: 259, cropWidth: 224, cropHeight: 224)
        XCTAssertEqual([g1.left, g1.top], [16, 18])
        let g2 = CenterCropGeometry(imageWidth: 341, imageHeight: 256, cropWidth: 224, cropHeight: 224)
        XCTAssertEqual([g2.left, g2.top], [58, 16])  // 58.5 -> 58
        // Padding when the crop is larger: 3 -> 6 pads 1 before, 2 after, then offset 0.
        let g3 = CenterCropGeometry(imageWidth: 3, imageHeight: 10, cropWidth: 6, cropHeight: 4)
        XCTAssertEqual([g3.left, g3.top], [-1, 3])
        let tiny = RGBImage(width: 1, height: 1, pixels: [9, 8, 7])
        XCTAssertEqual(tiny.centerCropped(width: 3, height: 2).pixels,
                       [0, 0, 0, 9, 8, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    /// cropPct > 1 makes the crop larger than the resized image: zero padding.
    func testCropLargerThanResizedImagePads() throws {
        let image = try RGBImage(contentsOf: fixturePath("png_rgb.png"))
        let preprocessing = Preprocessing(size: 64, cropPct: 1.25)  // resize to 51, crop 64
        let crop = preprocessing.crop(image)
        XCTAssertEqual(crop.width, 64)
        let resized = image.resizedBicubic(width: 68, height: 51)
        XCTAssertEqual(crop, resized.centerCropped(width: 64, height: 64))
        XCTAssertEqual(crop[x: 10, y: 0, channel: 0], 0)
    }
}
