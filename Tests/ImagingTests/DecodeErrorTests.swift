import XCTest
@testable import Imaging

/// Bad input must come back as an `ImagingError` naming the file, in one line;
/// never a crash, an exit() from libjpeg or an abort() from libpng.
final class DecodeErrorTests: XCTestCase {
    override func tearDown() {
        removeTemporaryFiles()
        super.tearDown()
    }

    private func bytes(_ fixture: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixturePath(fixture))))
    }

    /// Decodes `path`, expects failure, checks the message, returns the error.
    @discardableResult
    private func expectFailure(_ path: String, contains fragment: String,
                               file: StaticString = #filePath, line: UInt = #line) -> ImagingError? {
        do {
            let image = try RGBImage(contentsOf: path)
            XCTFail("decoded \(path) as \(image.width)x\(image.height), expected an error", file: file, line: line)
            return nil
        } catch {
            let text = error.description
            print("error for \(URL(fileURLWithPath: path).lastPathComponent): \(text)")
            XCTAssertEqual(error.file, path, file: file, line: line)
            XCTAssertTrue(text.hasPrefix(path + ": "), text, file: file, line: line)
            XCTAssertFalse(text.contains("\n"), "one line: \(text)", file: file, line: line)
            XCTAssertTrue(text.lowercased().contains(fragment.lowercased()), "\(text) lacks \(fragment)",
                          file: file, line: line)
            return error
        }
    }

    func testMissingFileAndDirectory() {
        expectFailure("/nonexistent/dir/image.JPEG", contains: "No such file")
        expectFailure(FileManager.default.temporaryDirectory.path, contains: "cannot read")
    }

    func testEmptyAndNonImageFiles() throws {
        expectFailure(try temporaryFile("empty.jpg", []), contains: "empty")
        expectFailure(try temporaryFile("notes.jpg", Array("hello, not an image\n".utf8)), contains: "not a JPEG or PNG")
        let gif = try temporaryFile("animated.JPEG", Array("GIF89a".utf8) + [UInt8](repeating: 0, count: 32))
        XCTAssertEqual(expectFailure(gif, contains: "GIF")?.problem, .unknownFormat("looks like GIF"))
    }

    func testTruncatedJPEGs() throws {
        for name in ["jpeg_baseline.jpg", "jpeg_progressive.jpg", "jpeg_cmyk.jpg"] {
            let data = try bytes(name)
            // Down to a missing EOI marker (the last 2 bytes): PIL says "image file is truncated".
            for keep in [3, 20, data.count / 3, data.count * 2 / 3, data.count - 40, data.count - 2] {
                expectFailure(try temporaryFile("cut-\(keep)-\(name)", Array(data.prefix(keep))), contains: "JPEG")
            }
        }
    }

    func testTruncatedPNGs() throws {
        for name in ["png_rgb.png", "png_interlaced.png", "png_rgb16.png"] {
            let data = try bytes(name)
            for keep in [8, 20, 40, data.count / 2, data.count - 40] {
                expectFailure(try temporaryFile("cut-\(keep)-\(name)", Array(data.prefix(keep))), contains: "PNG")
            }
        }
    }

    func testCorruptHeaders() throws {
        var jpeg = try bytes("jpeg_baseline.jpg")
        for i in 4..<min(200, jpeg.count) { jpeg[i] = UInt8(truncatingIfNeeded: i &* 37) }  // keep FF D8 FF
        expectFailure(try temporaryFile("garbage.jpg", jpeg), contains: "invalid JPEG data")

        var png = try bytes("png_rgb.png")
        png[18] ^= 0xFF  // inside IHDR: its CRC no longer matches
        expectFailure(try temporaryFile("bad-crc.png", png), contains: "CRC")

        var idat = try bytes("png_rgb.png")
        let start = idat.count / 2
        for i in start ..< start + 64 { idat[i] = 0xA5 }  // inside the compressed data
        expectFailure(try temporaryFile("bad-idat.png", idat), contains: "PNG")
    }

    /// PIL checks the CRC of each chunk before the image data, ignores the IDAT
    /// CRC, and does not need the IDAT CRC or IEND after the image data; so do
    /// we. (PIL also accepts a zlib stream cut inside its final checksum; that
    /// is an error here, as libpng must be handed the whole IDAT chunk.)
    func testPNGStrictnessFollowsPIL() throws {
        let original = try bytes("png_rgb.png")
        let expected = try RGBImage(decoding: original, file: "png_rgb.png")
        var badIDATCRC = original
        badIDATCRC[badIDATCRC.count - 14] ^= 0xFF  // IEND is the last 12 bytes; before it the IDAT CRC
        XCTAssertEqual(try RGBImage(decoding: badIDATCRC, file: "bad-idat-crc.png"), expected)
        for cut in [12, 16] {
            XCTAssertEqual(try RGBImage(decoding: Array(original.dropLast(cut)), file: "cut.png"), expected, "-\(cut)")
        }
        let interlaced = try bytes("png_interlaced.png")
        XCTAssertEqual(try RGBImage(decoding: Array(interlaced.dropLast(16)), file: "cut.png"),
                       try RGBImage(decoding: interlaced, file: "png_interlaced.png"))

        var gamma = try bytes("png_gamma.png")  // IHDR (33 bytes with signature), then gAMA
        XCTAssertEqual(Array(gamma[37..<41]), Array("gAMA".utf8))
        gamma[41] ^= 0xFF
        expectFailure(try temporaryFile("bad-gama-crc.png", gamma), contains: "gAMA: CRC error")
    }

    func testErrorsFromPreprocessingNameTheFile() throws {
        let path = try temporaryFile("half.jpg", Array(try bytes("jpeg_baseline.jpg").prefix(500)))
        XCTAssertThrowsError(try Preprocessing().networkInput(contentsOf: path)) { error in
            XCTAssertEqual((error as? ImagingError)?.file, path)
        }
        XCTAssertThrowsError(try Preprocessing().croppedImage(contentsOf: path))
    }
}
