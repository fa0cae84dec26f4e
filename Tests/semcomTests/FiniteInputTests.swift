import Foundation
import Tensors
import XCTest

/// Non-finite numbers and empty inputs on the command line: refused with one
/// line naming the file, tensor or image, never printed as results.
final class FiniteInputTests: XCTestCase {
    let vit = repositoryRoot.appendingPathComponent("Tests/Fixtures/vit")
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-finite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixture("tiny3", "config.json"), toPath: tmp.appendingPathComponent("config.json").path)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func fixture(_ name: String, _ file: String) -> String { vit.appendingPathComponent(name).appendingPathComponent(file).path }

    /// The tiny3 weights changed by `edit`, written beside its config.json.
    func weights(_ edit: (inout [String: Tensor]) -> Void) throws -> String {
        let file = try SafeTensors(path: fixture("tiny3", "model.safetensors"))
        var tensors: [String: Tensor] = [:]
        for n in file.names { tensors[n] = file.tensor(n) }
        edit(&tensors)
        let path = tmp.appendingPathComponent("edited.safetensors").path
        try SafeTensors.write(tensors, to: path)
        return path
    }

    func assertOneLineError(_ result: (Int32, String, String), status: Int32 = 1, mentioning words: [String],
                            file: StaticString = #filePath, line: UInt = #line) {
        let (s, stdout, stderr) = result
        XCTAssertEqual(s, status, "exit status; stderr: \(stderr)", file: file, line: line)
        let lines = stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one line: \(stderr)", file: file, line: line)
        for w in words { XCTAssertTrue(stderr.contains(w), "'\(stderr)' should mention '\(w)'", file: file, line: line) }
        XCTAssertFalse(stdout.lowercased().contains("nan"), "no NaN printed as a result: \(stdout)", file: file, line: line)
    }

    func testInferOnNaNWeightsNamesTheTensor() throws {
        let path = try weights { $0["blocks.0.attn.qkv.bias"]!.scalars[4] = .nan }
        assertOneLineError(try runSemcom(["infer", "--weights", path, "--inputs", fixture("tiny3", "inputs.npy")]),
                           mentioning: ["edited.safetensors", "blocks.0.attn.qkv.bias", "non-finite"])
    }

    func testInferWithNonFiniteOutputNamesTheImage() throws {
        // Finite weights whose logits overflow to infinity (and so to NaN probabilities).
        let path = try weights { t in t["head.weight"]!.scalars = t["head.weight"]!.scalars.map { $0 * 1e38 } }
        assertOneLineError(try runSemcom(["infer", "--weights", path, "--inputs", fixture("tiny3", "inputs.npy")]),
                           mentioning: ["inputs.npy[0]", "NaN or infinity"])
    }

    func testInferStopsAtTheFirstImageWithANaNInput() throws {
        var x = try NPY.readTensor(fixture("tiny3", "inputs.npy"))
        XCTAssertGreaterThanOrEqual(x.shape[0], 3)
        x.scalars[x.count / x.shape[0] * 2 + 5] = .nan
        let npy = tmp.appendingPathComponent("pixel.npy").path
        try NPY.write(x, to: npy)
        let result = try runSemcom(["infer", "--weights", fixture("tiny3", "model.safetensors"), "--inputs", npy])
        assertOneLineError(result, mentioning: ["pixel.npy[2]", "NaN or infinity"])
        XCTAssertTrue(result.1.contains("pixel.npy[1]"), "the images before it are printed: \(result.1)")
        XCTAssertFalse(result.1.contains("pixel.npy[2]"), result.1)
    }

    func testLimitZeroOrNegativeIsAUsageError() throws {
        for limit in ["0", "-3"] {
            let (s, _, stderr) = try runSemcom(["cache", "build", "--out", tmp.appendingPathComponent("c.h5").path,
                                                "--images", tmp.path, "--model", "edge=auto:\(fixture("tiny3", "model.safetensors"))",
                                                "--limit=\(limit)"])
            XCTAssertEqual(s, 2, "usage error (status 2, not ArgumentParser's 64) for --limit \(limit): \(stderr)")
            XCTAssertTrue(stderr.contains("--limit \(limit)"), stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("c.h5").path))
        }
    }
}
