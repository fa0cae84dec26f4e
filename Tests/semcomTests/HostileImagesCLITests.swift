import Foundation
import Imaging
import XCTest

/// Issue 10 through the CLI: hostile image files end a command with exit 1
/// and a message naming the file (never a signal, a hang or a memory blow-up),
/// `--max-image-pixels` moves the limit, and a cache build records FIFOs and
/// symlink loops in an image folder as unreadable and goes on.
final class HostileImagesCLITests: XCTestCase {
    var tmp: URL!
    let models = ["--model", "edge=auto:" + repositoryRoot.appendingPathComponent("Demo/models/edge.safetensors").path,
                  "--model", "server=auto:" + repositoryRoot.appendingPathComponent("Demo/models/edge.safetensors").path]

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: tmp)
    }

    func path(_ name: String) -> String { tmp.appendingPathComponent(name).path }

    /// `runSemcom`, failing the test (instead of hanging it) after `seconds`.
    func run(_ arguments: [String], within seconds: Double = 120) throws -> (Int32, String, String) {
        final class Box: @unchecked Sendable { var result: Result<(Int32, String, String), Error>? }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        Thread { box.result = Result { try runSemcom(arguments) }; done.signal() }.start()
        guard done.wait(timeout: .now() + seconds) == .success else {
            XCTFail("semcom \(arguments.joined(separator: " ")): still running after \(seconds) s")
            return (-1, "", "")
        }
        return try box.result!.get()
    }

    /// A hand-made RGB PNG declaring `width` x `height` with almost no data.
    func bombPNG(width: Int, height: Int) -> Data {
        func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        func crc32(_ bytes: [UInt8]) -> UInt32 {
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in bytes {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
            }
            return ~crc
        }
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + data
            return be32(UInt32(data.count)) + body + be32(crc32(body))
        }
        let idat: [UInt8] = [0x78, 0x01, 0x01, 4, 0, 0xFB, 0xFF, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x01]  // stored block, 4 zeros
        return Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            + chunk("IHDR", be32(UInt32(width)) + be32(UInt32(height)) + [8, 2, 0, 0, 0])
            + chunk("IDAT", idat) + chunk("IEND", []))
    }

    func testPreprocessRefusesABombAndTheLimitCanBeRaised() throws {
        let big = path("BIG.png")
        try bombPNG(width: 20_000, height: 20_000).write(to: URL(fileURLWithPath: big))
        let (status, _, stderr) = try run(["preprocess", "--out", path("x.npy"), big], within: 60)
        XCTAssertEqual(status, 1, stderr)  // a failed command, not a signal (an abort would give 6)
        XCTAssertTrue(stderr.contains("\(big): image of 20000x20000 pixels"), stderr)
        XCTAssertTrue(stderr.contains("exceeds the limit of 89478485 pixels"), stderr)
        // Raised, the limit lets the header through; the bomb then fails as data.
        let (raised, _, raisedErr) = try run(["preprocess", "--max-image-pixels", "400000000", "--out", path("y.npy"), big], within: 60)
        XCTAssertEqual(raised, 1, raisedErr)
        XCTAssertTrue(raisedErr.contains("\(big): invalid PNG data"), raisedErr)
        XCTAssertFalse(raisedErr.contains("exceeds the limit"), raisedErr)

        // A real 3000 x 3000 image: refused one pixel under, let through at its size.
        let photo = path("photo.png")
        var pixels = [UInt8](repeating: 0, count: 3000 * 3000 * 3)
        for i in pixels.indices { pixels[i] = UInt8(truncatingIfNeeded: i / 3 % 3000 + i % 3 * 50) }
        try RGBImage(width: 3000, height: 3000, pixels: pixels).writePNG(to: photo)
        let small = ["--size", "64", "--crop-pct", "1"]
        let (under, _, underErr) = try run(["preprocess"] + small + ["--max-image-pixels", "8999999", "--out", path("u.npy"), photo])
        XCTAssertEqual(under, 1, underErr)
        XCTAssertTrue(underErr.contains("\(photo): image of 3000x3000 pixels (9000000) exceeds the limit of 8999999 pixels"), underErr)
        let (at, out, atErr) = try run(["preprocess"] + small + ["--max-image-pixels", "9000000", "--out", path("a.npy"), photo])
        XCTAssertEqual(at, 0, atErr)
        XCTAssertTrue(out.contains("[1, 3, 64, 64]"), out)
        let (bad, _, badErr) = try run(["preprocess", "--max-image-pixels", "0", "--out", path("z.npy"), photo])
        XCTAssertTrue([2, 64].contains(bad), "usage error expected, got \(bad): \(badErr)")  // 2 once usage errors map to it
        XCTAssertTrue(badErr.contains("--max-image-pixels"), badErr)
    }

    func testCacheBuildRecordsFIFOsAndSymlinkLoopsAsUnreadable() throws {
        let source = repositoryRoot.appendingPathComponent("Demo/digits/eval").path
        let root = path("data")
        for c in 0..<3 {
            try FileManager.default.createDirectory(atPath: "\(root)/\(c)", withIntermediateDirectories: true)
            for f in try FileManager.default.contentsOfDirectory(atPath: "\(source)/\(c)").sorted().prefix(2) {
                try FileManager.default.copyItem(atPath: "\(source)/\(c)/\(f)", toPath: "\(root)/\(c)/\(f)")
            }
        }
        XCTAssertEqual(mkfifo("\(root)/0/pipe.jpg", 0o600), 0)
        XCTAssertEqual(symlink("\(root)/1/loop-b.jpg", "\(root)/1/loop-a.jpg"), 0)
        XCTAssertEqual(symlink("\(root)/1/loop-a.jpg", "\(root)/1/loop-b.jpg"), 0)
        XCTAssertEqual(symlink("/dev/zero", "\(root)/2/zero.png"), 0)
        let cache = path("c.h5")
        let (status, out, stderr) = try run(["cache", "build", "--out", cache, "--images", root,
                                             "--size", "64", "--crop-pct", "1", "--batch", "4", "--threads", "2"] + models)
        XCTAssertEqual(status, 0, stderr)
        XCTAssertTrue(out.contains("4 image(s) could not be read"), out + stderr)
        let (infoStatus, info, infoErr) = try run(["cache", "info", cache])
        XCTAssertEqual(infoStatus, 0, infoErr)
        XCTAssertTrue(info.contains("unreadable   4"), info)
        for name in ["0/pipe.jpg", "1/loop-a.jpg", "1/loop-b.jpg", "2/zero.png"] {
            XCTAssertTrue(info.contains("\(root)/\(name)"), "\(name) not listed as unreadable:\n\(info)")
        }
        XCTAssertTrue(info.contains("not a regular file"), info)
        XCTAssertTrue(info.lowercased().contains("too many levels of symbolic links"), info)
    }
}
