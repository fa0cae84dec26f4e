import Foundation
import HDF5IO
import Tensors
import XCTest

/// End-to-end runs of the `semcom` executable.
final class CLITests: XCTestCase {
    static let root = repositoryRoot
    let vit = root.appendingPathComponent("Tests/Fixtures/vit")
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func semcom(_ arguments: [String]) throws -> (Int32, String, String) { try runSemcom(arguments) }

    func fixture(_ name: String, _ file: String) -> String { vit.appendingPathComponent(name).appendingPathComponent(file).path }

    func read(_ file: HDF5File, _ path: String) throws -> Tensor {
        let a = try file.openDataset(path).read(as: Float.self)
        return Tensor(shape: a.shape, scalars: a.values)
    }

    func assertClose(_ a: Tensor, _ b: Tensor, _ tol: Float, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
        if a.shape == b.shape {
            let worst = zip(a.scalars, b.scalars).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, tol, what, file: file, line: line)
        }
    }

    func testInferWritesWhatTimmComputes() throws {
        let out = tmp.appendingPathComponent("r.h5").path
        let (status, stdout, stderr) = try semcom(["infer", "--weights", fixture("p196", "model.safetensors"), "--inputs",
                                                   fixture("p196", "inputs.npy"), "--rollout", "--out", out, "--threads", "2"])
        XCTAssertEqual(status, 0, stderr)
        XCTAssertTrue(stdout.contains("inputs.npy[1]"), stdout)
        let file = try HDF5File.open(out)
        assertClose(try read(file, "/logits"), try NPY.readTensor(fixture("p196", "logits.npy")), 1e-4, "logits")
        assertClose(try read(file, "/attention/cls"), try NPY.readTensor(fixture("p196", "cls_attention.npy")), 1e-5, "attention")
        assertClose(try read(file, "/importance/mean"), try NPY.readTensor(fixture("p196", "mean_importance.npy")), 1e-5, "mean")
        assertClose(try read(file, "/importance/rollout"), try NPY.readTensor(fixture("p196", "rollout_importance.npy")), 1e-5, "rollout")
        // Provenance: the format, the weights' digest and the whole transform.
        XCTAssertEqual(try file.attribute("format_version", as: String.self), "1")
        XCTAssertEqual(try file.attribute("interpolation", as: String.self), "bicubic")
        XCTAssertEqual(try file.attribute("weights_sha256", as: String.self).count, 64)
        for key in ["image_size", "crop_pct", "mean", "std"] { XCTAssertTrue(try file.hasAttribute(key), key) }
    }

    /// The demo models' size comes from the config beside them (no --size), and
    /// a head without ImageNet's names prints each class name once.
    func testInferOnTheDemoModelWithoutOptions() throws {
        let root = repositoryRoot.path
        let image = try FileManager.default.contentsOfDirectory(atPath: root + "/Demo/digits/eval/3").sorted()[0]
        let (status, stdout, stderr) = try semcom(["infer", "--weights", root + "/Demo/models/edge.safetensors", "--top", "3",
                                                   root + "/Demo/digits/eval/3/" + image])
        XCTAssertEqual(status, 0, stderr)
        let lines = stdout.split(separator: "\n").dropFirst()
        XCTAssertEqual(lines.count, 3, stdout)
        for line in lines { XCTAssertEqual(line.components(separatedBy: "class ").count, 2, "one name per line: \(line)") }
    }

    func testInferOnTokenSubset() throws {
        let out = tmp.appendingPathComponent("k.h5").path
        let (status, _, stderr) = try semcom(["infer", "--weights", fixture("wide", "model.safetensors"), "--inputs",
                                              fixture("wide", "inputs.npy"), "--keep", fixture("wide", "keep.npy"), "--out", out])
        XCTAssertEqual(status, 0, stderr)
        let file = try HDF5File.open(out)
        assertClose(try read(file, "/logits"), try NPY.readTensor(fixture("wide", "logits_keep.npy")), 1e-4, "subset logits")
        assertClose(try read(file, "/attention/cls"), try NPY.readTensor(fixture("wide", "cls_attention_keep.npy")), 1e-5, "subset attention")
        XCTAssertFalse(try file.contains("/importance/mean"), "no importance for a token-subset run")
    }

    func testH5pyReadsTheOutput() throws {
        try XCTSkipUnless(h5pyAvailable(), "h5py/numpy not installed")
        let out = tmp.appendingPathComponent("r.h5").path
        let (status, _, stderr) = try semcom(["infer", "--weights", fixture("tiny3", "model.safetensors"), "--inputs",
                                              fixture("tiny3", "inputs.npy"), "--rollout", "--out", out])
        XCTAssertEqual(status, 0, stderr)
        let script = """
        import h5py, numpy as np, sys
        f = h5py.File(sys.argv[1], "r")
        ref = np.load(sys.argv[2])
        assert f["logits"].shape == ref.shape and f["logits"].dtype == np.float32
        assert np.allclose(f["logits"][...], ref, rtol=1e-4, atol=1e-4)
        assert f["attention/cls"].shape == (3, 3, 3, 17)
        assert f["importance/rollout"].shape == (3, 16)
        assert [p.decode() if isinstance(p, bytes) else p for p in f["images/path"][...]][0].endswith("inputs.npy[0]")
        print("ok")
        """
        let py = Process()
        py.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        py.arguments = [h5pyPython, "-c", script, out, fixture("tiny3", "logits.npy")]
        let pipe = Pipe()
        py.standardOutput = pipe
        try py.run(); py.waitUntilExit()
        XCTAssertEqual(py.terminationStatus, 0)
        XCTAssertEqual(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self), "ok\n")
    }

    func testBadImageIsReportedAndTheRestStillRun() throws {
        let bad = tmp.appendingPathComponent("broken.jpg").path
        FileManager.default.createFile(atPath: bad, contents: Data([0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]))
        let good = Self.root.appendingPathComponent("Demo/example.jpg").path
        let npy = tmp.appendingPathComponent("x.npy").path
        let (status, stdout, stderr) = try semcom(["preprocess", "--out", npy, good, bad, good])
        XCTAssertEqual(status, 1)
        XCTAssertTrue(stderr.contains("broken.jpg"), stderr)
        XCTAssertTrue(stdout.contains("[2, 3, 224, 224]"), stdout)
        XCTAssertEqual(try NPY.read(npy).shape, [2, 3, 224, 224])

        let (s2, out2, err2) = try semcom(["infer", "--weights", Self.root.appendingPathComponent("Demo/demo-vit.safetensors").path, good, bad])
        XCTAssertEqual(s2, 1)
        XCTAssertTrue(out2.contains("example.jpg"), out2)
        XCTAssertTrue(err2.contains("broken.jpg"), err2)
    }

    func testBadWeightsAndInputsGiveOneLineErrors() throws {
        let (s1, _, e1) = try semcom(["infer", "--weights", tmp.appendingPathComponent("none.safetensors").path,
                                      "--inputs", fixture("tiny3", "inputs.npy")])
        XCTAssertNotEqual(s1, 0)
        XCTAssertTrue(e1.contains("none.safetensors"), e1)
        XCTAssertEqual(e1.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count, 1, e1)
        let (s2, _, e2) = try semcom(["infer", "--weights", fixture("tiny3", "model.safetensors"),
                                      "--inputs", fixture("p196", "inputs.npy")])
        XCTAssertNotEqual(s2, 0)
        XCTAssertTrue(e2.contains("shape"), e2)
        let (s3, _, e3) = try semcom(["infer", "--weights", fixture("tiny3", "model.safetensors"), "--inputs",
                                      fixture("tiny3", "inputs.npy"), "--keep", fixture("tiny3", "logits.npy")])
        XCTAssertNotEqual(s3, 0)
        XCTAssertTrue(e3.contains("logits.npy"), e3)
    }

    func testBenchPrintsThroughputLast() throws {
        let (status, stdout, stderr) = try semcom(["bench", "--weights", fixture("tiny3", "model.safetensors"),
                                                   "--batch", "2", "--iters", "2", "--threads", "1"])
        XCTAssertEqual(status, 0, stderr)
        let last = stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertNotNil(last.range(of: #"^throughput: [0-9]+\.[0-9]+ img/s$"#, options: .regularExpression), last)
    }
}
