import Foundation
import XCTest

/// Outputs never destroy inputs: `--out` (and the REPL's `export`) onto an
/// input of the same command, or onto an existing file of another kind, is
/// refused with exit status 1 and one line naming the file, and the file is
/// left byte for byte as it was; outputs are written whole or not at all,
/// through symbolic links.
final class OutputSafetyTests: XCTestCase {
    var tmp: URL!
    let weightsSource = repositoryRoot.appendingPathComponent("Demo/demo-vit.safetensors").path
    let imageSource = repositoryRoot.appendingPathComponent("Tests/Fixtures/imaging/jpeg_baseline.jpg").path

    /// One cache (two images, the demo ViT as edge and server), built on first use for the whole class.
    nonisolated(unsafe) static var sharedCache: String?
    static let sharedFolder = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-outsafety-\(UUID().uuidString)")

    override class func tearDown() { try? FileManager.default.removeItem(at: sharedFolder) }

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-outsafety-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func path(_ name: String) -> String { tmp.appendingPathComponent(name).path }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// A copy of the shared cache in this test's folder.
    func cache() throws -> String {
        if Self.sharedCache == nil {
            let dir = Self.sharedFolder.path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let images = dir + "/images.csv"
            try "path,label\n\(imageSource),0\n\(repositoryRoot.path)/Demo/example.jpg,281\n".write(toFile: images, atomically: false, encoding: .utf8)
            let (status, _, stderr) = try runSemcom(["cache", "build", "--out", dir + "/c.h5", "--images", images,
                                                     "--model", "edge=auto:\(weightsSource)", "--model", "server=auto:\(weightsSource)"])
            XCTAssertEqual(status, 0, stderr)
            Self.sharedCache = dir + "/c.h5"
        }
        let copy = path("c.h5")
        try FileManager.default.copyItem(atPath: Self.sharedCache!, toPath: copy)
        return copy
    }

    /// A copy of a file into this test's folder.
    func copy(_ source: String, as name: String) throws -> String {
        try FileManager.default.copyItem(atPath: source, toPath: path(name))
        return path(name)
    }

    /// Runs semcom and requires exit status 1, one line on stderr naming `file`
    /// and containing `reason`, and every file of `unchanged` byte for byte as before.
    func assertRefused(_ arguments: [String], naming file: String, _ reason: String, unchanged: [String],
                       sourceFile: StaticString = #filePath, line: UInt = #line) throws {
        let before = try unchanged.map(bytes)
        let (status, _, stderr) = try runSemcom(arguments)
        XCTAssertEqual(status, 1, stderr, file: sourceFile, line: line)
        let lines = stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one line: \(stderr)", file: sourceFile, line: line)
        XCTAssertTrue(stderr.contains(file + ": ") && stderr.contains(reason), "names \(file), says '\(reason)': \(stderr)", file: sourceFile, line: line)
        for (path, data) in zip(unchanged, before) {
            XCTAssertEqual(try bytes(path), data, "\(path) changed", file: sourceFile, line: line)
        }
    }

    /// Temporary files (`AtomicWrite`'s `.NAME.PID.N.tmp`) left in this test's folder.
    func temporaries() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: tmp.path).filter { $0.hasSuffix(".tmp") }
    }

    func testSweepAndTableNeverWriteOverTheirCache() throws {
        let cache = try cache()
        let hard = path("hard.h5"), soft = path("soft.h5")
        try FileManager.default.linkItem(atPath: cache, toPath: hard)
        try FileManager.default.createSymbolicLink(atPath: soft, withDestinationPath: "c.h5")
        let run = ["--cache", cache, "--edge", "edge", "--server", "server"]
        for out in [cache, tmp.path + "/sub/../c.h5", hard, soft] {
            try FileManager.default.createDirectory(atPath: path("sub"), withIntermediateDirectories: true)
            try assertRefused(["sweep"] + run + ["--rule-range", "0.5,0.9", "--out", out], naming: out, "is an input of this command", unchanged: [cache])
            try assertRefused(["table", "patches"] + run + ["--values", "0.9", "--out", out], naming: out, "is an input of this command", unchanged: [cache])
        }
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: soft), "c.h5", "the link is kept")
    }

    func testSweepNeverReplacesAFileOfAnotherKind() throws {
        let cache = try cache()
        let other = try copy(cache, as: "other.csv")  // an HDF5 file under a CSV name, not the input
        try assertRefused(["sweep", "--cache", cache, "--edge", "edge", "--server", "server", "--out", other],
                          naming: other, "holds HDF5, not CSV/text", unchanged: [cache, other])
        // An earlier CSV output is simply replaced.
        let csv = path("s.csv")
        try "old\n".write(toFile: csv, atomically: false, encoding: .utf8)
        let (status, _, stderr) = try runSemcom(["sweep", "--cache", cache, "--edge", "edge", "--server", "server", "--out", csv])
        XCTAssertEqual(status, 0, stderr)
        XCTAssertTrue(try String(contentsOfFile: csv, encoding: .utf8).hasPrefix("rule,"))
        XCTAssertEqual(try temporaries(), [])
    }

    func testInferNeverWritesOverItsWeightsOrImages() throws {
        let weights = try copy(weightsSource, as: "w.safetensors")
        let image = try copy(imageSource, as: "in.jpg")
        try assertRefused(["infer", "--weights", weights, "--out", weights, image], naming: weights, "is an input of this command",
                          unchanged: [weights, image])
        try assertRefused(["infer", "--weights", weights, "--out", image, image], naming: image, "is an input of this command",
                          unchanged: [weights, image])
        let otherImage = try copy(imageSource, as: "other.jpg")
        try assertRefused(["infer", "--weights", weights, "--out", otherImage, image], naming: otherImage, "holds JPEG, not HDF5",
                          unchanged: [weights, image, otherImage])
    }

    func testInferWritesThroughASymlinkAndReplacesAnEarlierResult() throws {
        let weights = try copy(weightsSource, as: "w.safetensors")
        let image = try copy(imageSource, as: "in.jpg")
        let target = path("target.h5"), link = path("link.h5")
        let first = try runSemcom(["infer", "--weights", weights, "--out", target, image])
        XCTAssertEqual(first.0, 0, first.2)
        let earlier = try bytes(target)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "target.h5")
        let (status, _, stderr) = try runSemcom(["infer", "--weights", weights, "--out", link, image, image])
        XCTAssertEqual(status, 0, stderr)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), "target.h5", "the link is kept")
        XCTAssertNotEqual(try bytes(target), earlier, "the target holds the new result (two images)")
        XCTAssertEqual(try temporaries(), [], "no temporary file left")
    }

    func testPreprocessNeverWritesOverItsImagesOrAnotherKind() throws {
        let image = try copy(imageSource, as: "in.jpg")
        try assertRefused(["preprocess", "--out", image, image], naming: image, "is an input of this command", unchanged: [image])
        let other = try copy(imageSource, as: "other.npy")
        try assertRefused(["preprocess", "--out", other, image], naming: other, "holds JPEG, not NPY", unchanged: [image, other])
    }

    func testPreprocessWritesThroughASymlink() throws {
        let image = try copy(imageSource, as: "in.jpg")
        let direct = path("direct.npy"), target = path("target.npy"), link = path("link.npy")
        try "not numbers".write(toFile: target, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "target.npy")
        try assertRefused(["preprocess", "--out", link, image], naming: link, "holds CSV/text, not NPY", unchanged: [target])
        try FileManager.default.removeItem(atPath: target)
        for out in [direct, link] {
            let (status, _, stderr) = try runSemcom(["preprocess", "--size", "64", "--out", out, image])
            XCTAssertEqual(status, 0, stderr)
        }
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), "target.npy", "the link is kept")
        XCTAssertEqual(try bytes(target), try bytes(direct))
        XCTAssertEqual(try temporaries(), [])
    }

    /// A write that fails part way (here: over the file size limit, SIGXFSZ
    /// ignored so that write(2) fails with EFBIG even for root) leaves the
    /// earlier output as it was and no temporary file.
    func testFailedWriteLeavesTheEarlierOutputIntact() throws {
        let image = try copy(imageSource, as: "in.jpg")
        let out = path("x.npy")
        let first = try runSemcom(["preprocess", "--size", "64", "--out", out, image])
        XCTAssertEqual(first.0, 0, first.2)
        let earlier = try bytes(out)
        let semcom = Bundle.main.bundleURL.appendingPathComponent("semcom").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        // 16 blocks (8 or 16 KiB, by the shell) is less than the 600 KiB output at 224 px.
        process.arguments = ["-c", "trap '' XFSZ; ulimit -f 16; exec \"$0\" \"$@\"", semcom, "preprocess", "--out", out, image]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 1, stderr)
        XCTAssertTrue(stderr.contains(out + ": cannot write"), stderr)
        XCTAssertEqual(try bytes(out), earlier)
        XCTAssertEqual(try temporaries(), [], "no temporary file left")
    }

    func testReplExportOntoTheOpenCacheIsRefusedAndTheSessionGoesOn() throws {
        let cache = try cache()
        let before = try bytes(cache)
        let csv = path("ok.csv")
        let (status, stdout, stderr) = try runSemcom(["repl", "--keep-going", cache], input: "models\nexport \(cache)\nimage 0 \(cache)\nexport \(csv)\n")
        XCTAssertEqual(status, 1, "a failing line fails a piped session: \(stderr)")
        let errors = stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        XCTAssertEqual(errors.count, 2, stderr)
        for error in errors { XCTAssertTrue(error.contains("\(cache): is an input of this command"), stderr) }
        XCTAssertTrue(stdout.contains("wrote \(csv)"), "the session goes on: \(stdout)")
        XCTAssertEqual(try bytes(cache), before)
    }

    func testAScriptNeverExportsOverItself() throws {
        let cache = try cache()
        let script = path("s.semcom")
        let text = "models\nexport \(script)\n"
        try text.write(toFile: script, atomically: true, encoding: .utf8)
        let (status, _, stderr) = try runSemcom(["run", script, "--cache", cache])
        XCTAssertEqual(status, 1)
        XCTAssertTrue(stderr.contains("s.semcom:2: \(script): is an input of this command"), stderr)
        XCTAssertEqual(try String(contentsOfFile: script, encoding: .utf8), text)
    }
}
