import Foundation
import Safety
import XCTest

/// `FileKind` by content and `checkOutput`'s refusals.
final class OutputCheckTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("outputcheck-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testKindsBySignature() throws {
        let json = Array("{\"a\":1}".utf8)
        let safetensors = withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init) + json
        let cases: [(String, [UInt8], FileKind?)] = [
            ("a.h5", [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0], .hdf5),
            ("b.jpg", [0xFF, 0xD8, 0xFF, 0xE0, 0], .jpeg),
            ("c.png", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], .png),
            ("d.npy", [0x93] + Array("NUMPY".utf8) + [1, 0], .npy),
            ("e.safetensors", safetensors, .safetensors),
            ("f.svg", Array("<?xml version=\"1.0\"?>\n<svg xmlns=\"x\"></svg>\n".utf8), .svg),
            ("g.json", Array("  [1, 2]\n".utf8), .json),
            ("h.csv", Array("a,b\n1,2\n".utf8), .text),
            ("i.bin", [1, 2, 0, 3], .binary),
            ("j.empty", [], nil),
            // A text line whose ninth byte is '{' is no safetensors header (the length does not fit).
            ("k.txt", Array("abcdefgh{".utf8), .text),
        ]
        for (name, bytes, kind) in cases {
            XCTAssertEqual(FileKind(contentsOf: try file(name, bytes)), kind, name)
        }
        XCTAssertNil(FileKind(contentsOf: dir.appendingPathComponent("none").path))
    }

    func testRefusesInputsByIdentity() throws {
        let input = try file("in.csv", Array("a\n".utf8))
        let hard = dir.appendingPathComponent("hard.csv").path
        let soft = dir.appendingPathComponent("soft.csv").path
        try FileManager.default.linkItem(atPath: input, toPath: hard)
        try FileManager.default.createSymbolicLink(atPath: soft, withDestinationPath: "in.csv")
        for path in [input, dir.appendingPathComponent("./sub/../in.csv").path, hard, soft] {
            try? FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
            XCTAssertThrowsError(try checkOutput(path, kind: .text, inputs: [input])) {
                XCTAssertTrue("\($0)".hasPrefix(path + ": is an input of this command"), "\($0)")
            }
        }
        XCTAssertNoThrow(try checkOutput(dir.appendingPathComponent("other.csv").path, kind: .text, inputs: [input]))
    }

    func testRefusesAnotherKindAndAFolder() throws {
        let h5 = try file("x.csv", [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A, 0])
        XCTAssertThrowsError(try checkOutput(h5, kind: .text, inputs: [])) {
            XCTAssertEqual("\($0)", "\(h5): holds HDF5, not CSV/text; refusing to replace it (remove it or choose another name)")
        }
        XCTAssertNoThrow(try checkOutput(h5, kind: .hdf5, inputs: []), "an earlier output of the same kind")
        XCTAssertNoThrow(try checkOutput(try file("empty.npy", []), kind: .npy, inputs: []))
        XCTAssertThrowsError(try checkOutput(dir.path, kind: .text, inputs: [])) {
            XCTAssertTrue("\($0)".contains("is a folder"), "\($0)")
        }
    }

    /// A write that fails part way (over a file size limit, with SIGXFSZ
    /// ignored so that write(2) fails with EFBIG, even for root) names the
    /// file, keeps its earlier content and leaves no temporary file.
    func testFailedWriteKeepsTheEarlierFileAndLeavesNoTemporary() throws {
        let path = dir.appendingPathComponent("out.csv").path
        try AtomicWrite.writeOutput(Data("old\n".utf8), to: path, kind: .text, inputs: [])
        var saved = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        let handler = signal(SIGXFSZ, SIG_IGN)
        var small = saved
        small.rlim_cur = 4096
        XCTAssertEqual(setrlimit(Int32(RLIMIT_FSIZE.rawValue), &small), 0)
        let result = Result { try AtomicWrite.writeOutput(Data(repeating: 65, count: 100_000), to: path, kind: .text, inputs: []) }
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        signal(SIGXFSZ, handler)
        XCTAssertThrowsError(try result.get()) { XCTAssertTrue("\($0)".hasPrefix(path + ": cannot write"), "\($0)") }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "old\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out.csv"])
    }
}
