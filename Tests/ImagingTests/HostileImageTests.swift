import Foundation
import XCTest
@testable import Imaging

/// Issue 10: hostile or broken image files are refused quickly, in bounded
/// memory, with a one-line error naming the file: decompression bombs (a
/// declared size over `ImageLimits.maxPixels`, or a resize over it), FIFOs,
/// devices, folders, oversized files and symlink loops.
final class HostileImageTests: XCTestCase {
    override func tearDown() {
        ImageLimits.maxPixels = ImageLimits.defaultMaxPixels
        removeTemporaryFiles()
        super.tearDown()
    }

    /// Runs `body` on another thread and fails (instead of hanging) when it has
    /// not finished within `seconds`; returns its result.
    func withDeadline(_ seconds: Double, _ what: String,
                      _ body: @escaping @Sendable () -> String?) -> String?? {
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        Thread { box.value = body(); done.signal() }.start()
        guard done.wait(timeout: .now() + seconds) == .success else {
            XCTFail("\(what): still running after \(seconds) s")
            return nil
        }
        return box.value ?? nil
    }

    /// The error of decoding `path`, or nil when it decoded.
    func decodeError(_ path: String, within seconds: Double = 5) -> String? {
        withDeadline(seconds, path) { () -> String? in
            do { _ = try RGBImage(contentsOf: path); return nil } catch { return "\(error)" }
        } ?? "timed out"
    }

    func testPNGDeclaringAMillionByOnePixelsIsRefusedQuicklyNamingItsSize() throws {
        // 1,000,000 x 1 is within the pixel limit, but the preprocessing would
        // resize it to 256,000,000 x 256: refused from the header, not decoded.
        let path = try temporaryFile("wide.png", HandMadePNG.bytes(width: 1_000_000, height: 1))
        XCTAssertLessThan(try Data(contentsOf: URL(fileURLWithPath: path)).count, 1024)
        let start = Date()
        XCTAssertThrowsError(try Preprocessing().networkInput(contentsOf: path)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix(path + ": "), text)
            XCTAssertTrue(text.contains("1000000x1"), text)
            XCTAssertTrue(text.contains("256000000x256"), text)
            XCTAssertFalse(text.contains("\n"), text)
            guard case .resizeTooLarge = (error as? ImagingError)?.problem else { return XCTFail(text) }
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)

        // A declared size over the limit is refused by the decoder itself.
        let huge = try temporaryFile("huge.png", HandMadePNG.bytes(width: 100_000, height: 100_000))
        let message = try XCTUnwrap(decodeError(huge, within: 2))
        XCTAssertTrue(message.hasPrefix(huge + ": image of 100000x100000 pixels"), message)
        XCTAssertTrue(message.contains("exceeds the limit of 89478485 pixels"), message)
    }

    func testSixteenBitPNGOverTheLimitIsRefusedBeforeDecoding() throws {
        // The reported 13000 x 13000 16-bit RGB PNG (1.85 GB per thread before).
        let path = try temporaryFile("big16.png", HandMadePNG.bytes(width: 13_000, height: 13_000, bitDepth: 16))
        let message = try XCTUnwrap(decodeError(path, within: 2))
        XCTAssertTrue(message.contains("13000x13000"), message)
        XCTAssertTrue(message.contains("exceeds the limit"), message)
    }

    func testJPEGHeaderDeclaringAHugeSizeIsRefused() throws {
        let path = try temporaryFile("huge.jpg", HandMadeJPEG.header(width: 60_000, height: 60_000))
        let start = Date()
        let message = try XCTUnwrap(decodeError(path, within: 2))
        XCTAssertTrue(message.hasPrefix(path + ": image of 60000x60000 pixels"), message)
        XCTAssertTrue(message.contains("exceeds the limit of 89478485 pixels"), message)
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
        // Declared within the limit, the same bytes fail as data, not as size.
        let small = try temporaryFile("small.jpg", HandMadeJPEG.header(width: 64, height: 64))
        let other = try XCTUnwrap(decodeError(small))
        XCTAssertFalse(other.contains("exceeds the limit"), other)
    }

    func testTheLimitCanBeRaisedAndLowered() throws {
        let path = fixturePath("png_rgb.png")  // 120 x 90 = 10,800 pixels
        let jpeg = fixturePath("jpeg_baseline.jpg")
        ImageLimits.maxPixels = 10_799
        XCTAssertTrue(try XCTUnwrap(decodeError(path)).contains("image of 120x90 pixels (10800) exceeds the limit of 10799 pixels"))
        XCTAssertTrue(try XCTUnwrap(decodeError(jpeg)).contains("image of 120x90 pixels (10800) exceeds the limit of 10799 pixels"))
        ImageLimits.maxPixels = 10_800
        XCTAssertNil(decodeError(path))
        XCTAssertNil(decodeError(jpeg))
        // The resize limit follows the same setting: 1,000,000 x 1 passes once
        // 256,000,000 x 256 pixels are allowed (and then fails as truncated data).
        let wide = try temporaryFile("wide.png", HandMadePNG.bytes(width: 1_000_000, height: 1))
        ImageLimits.maxPixels = 256_000_000 * 256
        XCTAssertThrowsError(try Preprocessing().networkInput(contentsOf: wide)) { error in
            guard case .invalidData = (error as? ImagingError)?.problem else { return XCTFail("\(error)") }
        }
    }

    func testAWideImageIsCroppedInBoundedMemory() {
        // The crop computes the resize coefficients of its window only: a
        // 400,000 x 1 image (resized to 102,400,000 x 256) is quick and small.
        let image = RGBImage(width: 400_000, height: 1, pixels: [UInt8](repeating: 7, count: 1_200_000))
        let start = Date()
        let crop = Preprocessing().crop(image)
        XCTAssertEqual(crop.width, 224)
        XCTAssertEqual(crop.height, 224)
        XCTAssertEqual(Set(crop.pixels), [7])
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
    }

    func testAFIFOIsRefusedWithoutHanging() throws {
        _ = try temporaryFile("placeholder", [])
        let fifo = temporaryDirectory.appendingPathComponent("pipe.jpg").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let message = try XCTUnwrap(decodeError(fifo))
        XCTAssertEqual(message, "\(fifo): cannot read the file: not a regular file (a FIFO (named pipe))")
    }

    func testDevicesAndFoldersAreRefused() throws {
        _ = try temporaryFile("placeholder", [])
        let zero = temporaryDirectory.appendingPathComponent("zero.jpg").path
        XCTAssertEqual(symlink("/dev/zero", zero), 0)
        XCTAssertEqual(decodeError(zero), "\(zero): cannot read the file: not a regular file (a character device)")
        let folder = temporaryDirectory.appendingPathComponent("folder.png").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        XCTAssertEqual(decodeError(folder), "\(folder): cannot read the file: not a regular file (a folder)")
    }

    func testASymlinkLoopIsAOneLineError() throws {
        _ = try temporaryFile("placeholder", [])
        let a = temporaryDirectory.appendingPathComponent("a.jpg").path
        let b = temporaryDirectory.appendingPathComponent("b.jpg").path
        XCTAssertEqual(symlink(b, a), 0)
        XCTAssertEqual(symlink(a, b), 0)
        let message = try XCTUnwrap(decodeError(a))
        XCTAssertTrue(message.hasPrefix(a + ": cannot read the file: "), message)
        XCTAssertTrue(message.lowercased().contains("too many levels of symbolic links"), message)
        XCTAssertFalse(message.contains("\n"))
    }

    func testAFileOverTheByteLimitIsRefusedUnread() throws {
        XCTAssertEqual(ImageLimits.maxFileBytes, 256 << 20)
        let path = try temporaryFile("sparse.png", HandMadePNG.bytes(width: 8, height: 8))
        XCTAssertEqual(truncate(path, off_t(ImageLimits.maxFileBytes + 1)), 0)  // sparse: no disk used
        let message = try XCTUnwrap(decodeError(path, within: 2))
        XCTAssertEqual(message, "\(path): cannot read the file: \(ImageLimits.maxFileBytes + 1) bytes, over the 256 MiB limit for an image file")
    }
}

final class ResultBox: @unchecked Sendable { var value: String?? }

/// CRC-32 (PNG's, zlib's) and Adler-32, by hand.
enum Checksums {
    static func crc32<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in bytes { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        return b << 16 | a
    }
}

/// A PNG built by hand: IHDR declaring any size, then one tiny IDAT (a zlib
/// stream of one stored block holding the first row's filter byte and a few
/// zero samples), then IEND: a valid header whose data ends long before the
/// declared size, in well under 1 KB.
enum HandMadePNG {
    static func bytes(width: Int, height: Int, bitDepth: UInt8 = 8) -> [UInt8] {
        func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + data
            return be32(UInt32(data.count)) + body + be32(Checksums.crc32(body))
        }
        let raw = [UInt8](repeating: 0, count: 64)
        let length = UInt16(raw.count)
        let zlib: [UInt8] = [0x78, 0x01, 0x01, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)]
            + raw + be32(Checksums.adler32(raw))
        let ihdr = be32(UInt32(width)) + be32(UInt32(height)) + [bitDepth, 2, 0, 0, 0]  // RGB
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            + chunk("IHDR", ihdr) + chunk("IDAT", zlib) + chunk("IEND", [])
    }
}

/// The markers of a baseline JPEG up to its scan header, declaring any size,
/// then a few bytes of scan data and EOI (no tables: it cannot decode).
enum HandMadeJPEG {
    static func header(width: Int, height: Int) -> [UInt8] {
        func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        let sof: [UInt8] = [0xFF, 0xC0] + be16(17) + [8] + be16(height) + be16(width)
            + [3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0]
        let sos: [UInt8] = [0xFF, 0xDA] + be16(12) + [3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0]
        return [0xFF, 0xD8] + sof + sos + [0x12, 0x34, 0x56, 0x78] + [0xFF, 0xD9]
    }
}
