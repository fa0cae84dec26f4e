import Collaborative
import ExperimentScripts
import Foundation
import Imaging
import XCTest

/// `semcom cache build`, `eval` and `sweep` end to end through the executable.
final class CacheCLITests: XCTestCase {
    var tmp: URL!
    var weights: String { repositoryRoot.appendingPathComponent("Demo/demo-vit.safetensors").path }

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-cachecli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    /// A small ImageFolder-free dataset: a CSV of the imaging fixtures and the demo photograph.
    func dataset() throws -> String {
        let dir = repositoryRoot.appendingPathComponent("Tests/Fixtures/imaging").path
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".jpg") }.sorted().prefix(5)
        let rows = files.enumerated().map { "\(dir)/\($1),\($0 * 100)" } + [repositoryRoot.appendingPathComponent("Demo/example.jpg").path + ",n02123045"]
        let csv = tmp.appendingPathComponent("images.csv").path
        try ("path,label\n" + rows.joined(separator: "\n")).write(toFile: csv, atomically: false, encoding: .utf8)
        return csv
    }

    func buildCache() throws -> String {
        let out = tmp.appendingPathComponent("c.h5").path
        let (status, stdout, stderr) = try runSemcom(["cache", "build", "--out", out, "--images", try dataset(), "--batch", "4",
                                                      "--model", "edge=auto:\(weights)", "--model", "server=auto:\(weights)"])
        XCTAssertEqual(status, 0, stderr)
        XCTAssertTrue(stdout.contains("6 images"), stdout)
        XCTAssertTrue(stderr.contains("cache: 6/6"), "progress on stderr: \(stderr)")
        return out
    }

    /// `--role` records what a run is for (by default by size); a bad role is a usage error.
    func testRolesAreRecorded() throws {
        XCTAssertEqual(try Cache(path: try buildCache()).runRoles(), [.edge: "edge", .server: "server"])
        let out = tmp.appendingPathComponent("r.h5").path
        let base = ["cache", "build", "--out", out, "--images", try dataset(), "--batch", "4",
                    "--model", "a=auto:\(weights)", "--model", "b=auto:\(weights)"]
        var (status, _, stderr) = try runSemcom(base + ["--role", "a=server", "--role", "b=edge"])
        XCTAssertEqual(status, 0, stderr)
        XCTAssertEqual(try Cache(path: out).runRoles(), [.edge: "b", .server: "a"])
        (status, _, stderr) = try runSemcom(base + ["--role", "a=boss"])
        XCTAssertEqual(status, 2)
        XCTAssertTrue(stderr.contains("--role 'a=boss': expected NAME=ROLE"), stderr)
    }

    /// The preprocessing comes from the config beside the weights (timm's pretrained_cfg),
    /// options override it, and the cache records it.
    func testPreprocessingFollowsTheWeightsConfigAndIsRecorded() throws {
        let folder = tmp.appendingPathComponent("w")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let model = folder.appendingPathComponent("model.safetensors").path
        try FileManager.default.copyItem(atPath: weights, toPath: model)
        try """
            {"num_heads": 4, "pretrained_cfg": {"input_size": [3, 224, 224], "crop_pct": 0.9, "mean": [0.5, 0.5, 0.5],
             "std": [0.25, 0.25, 0.25], "interpolation": "bicubic"}}
            """.write(to: folder.appendingPathComponent("config.json"), atomically: false, encoding: .utf8)
        for (extra, crop) in [([String](), 0.9), (["--crop-pct", "0.8"], 0.8)] {
            let out = tmp.appendingPathComponent("c\(crop).h5").path
            let (status, _, stderr) = try runSemcom(["cache", "build", "--out", out, "--images", try dataset(), "--model", "a=auto:\(model)"] + extra)
            XCTAssertEqual(status, 0, stderr)
            XCTAssertEqual(try Cache(path: out).preprocessing,
                           Preprocessing(size: 224, cropPct: crop, mean: SIMD3(0.5, 0.5, 0.5), std: SIMD3(0.25, 0.25, 0.25)))
        }
    }

    func testEvalJSONHasTheDocumentedKeys() throws {
        let cache = try buildCache()
        let (status, stdout, stderr) = try runSemcom(["eval", "--cache", cache, "--edge", "edge", "--server", "server",
                                                       "--rule", "topk:20", "--gate", "none", "--json"])
        XCTAssertEqual(status, 0, stderr)
        let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as! [String: Any]
        for key in ["accuracy", "edge_accuracy", "server_accuracy", "sent_fraction", "patches_per_sent", "comm_cost", "server_gflops"] {
            XCTAssertNotNil(object[key] as? Double, key)
        }
        XCTAssertEqual(object["sent_fraction"] as? Double, 1)
        XCTAssertEqual(object["patches_per_sent"] as? Double, 20)
        XCTAssertEqual(object["comm_cost"] as! Double, 20.0 / 196, accuracy: 1e-12)
    }

    func testSweepWritesTheGridWithAParetoFlag() throws {
        let cache = try buildCache()
        let out = tmp.appendingPathComponent("s.csv").path
        let (status, _, stderr) = try runSemcom(["sweep", "--cache", cache, "--edge", "edge", "--server", "server",
                                                  "--rule-range", "0.5:0.9:0.2", "--gate-range", "0,5,9", "--out", out])
        XCTAssertEqual(status, 0, stderr)
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 1 + 9)
        XCTAssertTrue(lines[0].hasSuffix(",pareto"))
        XCTAssertTrue(lines.dropFirst().contains { $0.hasSuffix(",1") })
    }

    func testTablesIIAndIII() throws {
        let cache = try buildCache()
        let out = tmp.appendingPathComponent("t2.csv").path
        let (status, stdout, stderr) = try runSemcom(["table", "patches", "--cache", cache, "--edge", "edge", "--server", "server",
                                                      "--values", "0.9,1", "--out", out])
        XCTAssertEqual(status, 0, stderr)
        XCTAssertTrue(stdout.hasPrefix("delta"), stdout)
        let rows = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 3)
        XCTAssertTrue(rows[2].hasPrefix("1,196,1,"), "delta = 1 sends every patch: \(rows[2])")
        let (s3, out3, e3) = try runSemcom(["table", "transmit", "--cache", cache, "--edge", "edge", "--server", "server",
                                            "--values", "0,100"])
        XCTAssertEqual(s3, 0, e3)
        let lines = out3.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        XCTAssertEqual(Array(lines[1].prefix(2)), ["0", "1"], "eta = 0 sends everything")
        XCTAssertEqual(Array(lines[2].prefix(2)), ["100", "0"], "eta = 100 sends nothing")
    }

    func testReplThroughAPipe() throws {
        let cache = try buildCache()
        let script = """
        show settings
        set rule sum:0.9
        eval
        sweep rule 0.5:0.9:0.2 gate 0,5
        pareto
        export \(tmp.path)/pareto.csv
        plot sweep \(tmp.path)/sweep.svg
        models
        table transmit 0,100
        evl
        set gate nonsense
        image 0 \(tmp.path)/overlay.png
        describe
        quit
        eval
        """
        let (status, stdout, stderr) = try runSemcom(["repl", "--keep-going", cache], input: script)
        XCTAssertEqual(status, 1, "a piped session with a failing line fails, at the end with --keep-going: \(stderr)")
        XCTAssertFalse(stdout.contains("semcom>"), "no prompt noise from a pipe")
        XCTAssertTrue(stdout.contains("sum:0.9  min:0.8"), stdout)
        XCTAssertTrue(stdout.contains("params_M"), stdout)
        XCTAssertTrue(stdout.contains("wrote \(tmp.path)/overlay.png"), stdout)
        XCTAssertTrue(stdout.contains("server/edge:mean"), "memo fill in describe: \(stdout)")
        let errors = stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
        XCTAssertEqual(errors.count, 2, stderr)
        XCTAssertTrue(errors[0].contains("did you mean 'eval'"), stderr)
        let evalHeaders = stdout.split(separator: "\n").filter { $0.hasSuffix("latency_ms") }
        XCTAssertEqual(evalHeaders.count, 1, "one eval; the eval after quit must not run")
        XCTAssertTrue(FileManager.default.fileExists(atPath: tmp.path + "/sweep.svg"))
        XCTAssertEqual(try String(contentsOfFile: tmp.path + "/pareto.csv", encoding: .utf8).split(separator: "\n").first?.hasSuffix("pareto"), true)
    }

    /// Issue 12 item 11: from a pipe the first failing line ends the session
    /// with exit 1; a clean pipe exits 0.
    func testAPipedSessionStopsAtTheFirstFailingLine() throws {
        let cache = try buildCache()
        var (status, stdout, stderr) = try runSemcom(["repl", cache], input: "models\nevl\nimage 0 \(tmp.path)/o.png\n")
        XCTAssertEqual(status, 1, stderr)
        XCTAssertTrue(stdout.contains("params_M"), stdout)
        XCTAssertEqual(stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }.count, 1, stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.path + "/o.png"), "nothing after the failing line runs")
        (status, _, stderr) = try runSemcom(["repl", cache], input: "models\n")
        XCTAssertEqual(status, 0, stderr)
    }

    /// `semcom run` without `--cache` says to pass it; `--keep-going` runs every
    /// line, reports each failure and exits 1.
    func testRunWithoutACacheAndKeepGoing() throws {
        let script = tmp.appendingPathComponent("k.semcom").path
        try "eval\nset rule nope\nset rule topk:3\n".write(toFile: script, atomically: false, encoding: .utf8)
        var (status, _, stderr) = try runSemcom(["run", script])
        XCTAssertEqual(status, 1)
        XCTAssertTrue(stderr.contains("\(script):1: no cache open (pass --cache FILE.h5"), stderr)
        (status, _, stderr) = try runSemcom(["run", "--keep-going", script])
        XCTAssertEqual(status, 1)
        XCTAssertTrue(stderr.contains("\(script):2: rule 'nope'"), stderr)
        XCTAssertTrue(stderr.contains("\(script): 2 line(s) failed"), stderr)
    }

    func testRunScriptStopsWithFileAndLine() throws {
        let cache = try buildCache()
        let script = tmp.appendingPathComponent("s.semcom").path
        try "# test\nset rule topk:$k\neval\nexport $out/r.csv\nset measure nope\neval\n".write(toFile: script, atomically: false, encoding: .utf8)
        let (status, stdout, stderr) = try runSemcom(["run", script, "--cache", cache, "--out", tmp.path, "--set", "k=7"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(stdout.contains("topk:7"), stdout)
        XCTAssertTrue(stderr.contains("s.semcom:5: measure 'nope'"), stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: tmp.path + "/r.csv"))
    }

    func testH5pyReadsTheCache() throws {
        try XCTSkipUnless(h5pyAvailable(), "h5py/numpy not installed")
        let cache = try buildCache()
        let script = """
        import h5py, sys
        f = h5py.File(sys.argv[1], "r")
        assert f.attrs["format"] in ("semcom-cache", b"semcom-cache")
        assert f["images/path"].shape == (6,) and list(f["images/label"][...])[:2] == [0, 100]
        assert f["images/label"][5] == 281  # n02123045, tabby
        r = f["runs/edge"]
        assert r["logits"].shape == (6, 1000) and r["importance/mean"].shape == (6, 196)
        assert r["importance/rollout"].shape == (6, 196) and r["attention/last"].shape == (6, 4, 197)
        assert len(r.attrs["weights_sha256"]) == 64 and int(r.attrs["completed"]) == 6
        print("ok")
        """
        let py = Process()
        py.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        py.arguments = [h5pyPython, "-c", script, cache]
        let pipe = Pipe(), err = Pipe()
        py.standardOutput = pipe
        py.standardError = err
        try py.run(); py.waitUntilExit()
        XCTAssertEqual(py.terminationStatus, 0, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        XCTAssertEqual(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self), "ok\n")
    }

    func testDemoNamesMissingWeights() throws {
        let (status, _, stderr) = try runSemcom(["demo", "--edge", tmp.path + "/none.safetensors", "--out", tmp.path + "/demo"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(stderr.contains("none.safetensors: no such weights file"), stderr)
    }

    /// `--shard auto` builds this task's shard of a Slurm job array, and says so.
    func testShardAutoFromASlurmArray() throws {
        let out = tmp.appendingPathComponent("s1.h5").path
        let (status, stdout, stderr) = try runSemcom(["cache", "build", "--out", out, "--images", try dataset(), "--batch", "2", "--shard", "auto",
                                                      "--model", "edge=auto:\(weights)"],
                                                     environment: ["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2"])
        XCTAssertEqual(status, 0, stderr)
        XCTAssertTrue(stdout.contains("shard 1/2 from Slurm: SLURM_ARRAY_TASK_ID=1, SLURM_ARRAY_TASK_COUNT=2"), stdout)
        XCTAssertEqual(try Cache(path: out).images.count, 2, "rows 4..<6 of 6 (contiguous, aligned to --batch 2)")
    }

    /// `semcom plan` reports what a sweep would compute and writes it as JSON.
    func testPlanReportsAndWritesTheMissingAnswers() throws {
        let cache = try buildCache()
        let out = tmp.appendingPathComponent("p.json").path
        let (status, stdout, stderr) = try runSemcom(["plan", "--cache", cache, "--edge", "edge", "--server", "server", "--rule-range", "0.5,0.9",
                                                      "--gate", "none", "--out", out, "--no-calibrate"])
        XCTAssertEqual(status, 0, stderr)
        let plan = try JSONDecoder().decode(MemoPlan.self, from: Data(contentsOf: URL(fileURLWithPath: out)))
        XCTAssertEqual(plan.format, "semcom-memo-plan")
        XCTAssertTrue(stdout.contains("server answers needed  \(plan.needed), missing \(plan.missing)"), stdout)
        XCTAssertGreaterThan(plan.missing, 0)
        let (bad, _, badErr) = try runSemcom(["plan", "--cache", cache, "--edge", "edge", "--server", "server", "--rule-range", "2"])
        XCTAssertEqual(bad, 2, badErr)

        // The plan filled in two shards (one found through a Kubernetes Indexed Job's index), then merged.
        let shards = (0..<2).map { tmp.appendingPathComponent("m\($0).h5").path }
        var (s, o, e) = try runSemcom(["memo", "fill", "--plan", out, "--shard", "0/2", "--out", shards[0], "--threads", "1"])
        XCTAssertEqual(s, 0, e)
        (s, o, e) = try runSemcom(["memo", "fill", "--plan", out, "--shard", "auto/2", "--out", shards[1], "--threads", "1"],
                                  environment: ["JOB_COMPLETION_INDEX": "1"])
        XCTAssertEqual(s, 0, e)
        XCTAssertTrue(o.contains("shard 1/2 from Kubernetes"), o)
        (s, o, e) = try runSemcom(["memo", "merge", cache, shards[0]])
        XCTAssertEqual(s, 1, e)
        XCTAssertEqual(e, "Error: \(cache): missing memo shard(s) 1 of 2\n")
        (s, o, e) = try runSemcom(["memo", "merge", cache] + shards)
        XCTAssertEqual(s, 0, e)
        (s, o, e) = try runSemcom(["plan", "--cache", cache, "--edge", "edge", "--server", "server", "--rule-range", "0.5,0.9", "--gate", "none", "--no-calibrate"])
        XCTAssertTrue(o.contains("missing 0 "), o)
        // A script planned: the sweep's answers listed, not computed, and the export that needs its result skipped.
        let script = tmp.appendingPathComponent("s.semcom").path
        try "set edge edge\nset server server\nsweep rule 0.3,0.7 gate 0\nexport swept.csv\n".write(toFile: script, atomically: true, encoding: .utf8)
        let scriptPlan = tmp.appendingPathComponent("sp.json").path
        (s, o, e) = try runSemcom(["run", script, "--cache", cache, "--plan", "--plan-out", scriptPlan, "--no-calibrate"], directory: tmp.path)
        XCTAssertEqual(s, 0, e)
        XCTAssertTrue(o.contains("1 line(s) need server answers the memo lacks (not computed); 1 other line(s) skipped"), o)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("swept.csv").path))
        let planned = try MemoPlan.load(scriptPlan)
        XCTAssertGreaterThan(planned.missing, 0)
        (s, o, e) = try runSemcom(["memo", "fill", "--plan", scriptPlan, "--out", tmp.appendingPathComponent("sm.h5").path])
        XCTAssertEqual(s, 0, e)
        (s, o, e) = try runSemcom(["memo", "merge", cache, tmp.appendingPathComponent("sm.h5").path])
        XCTAssertEqual(s, 0, e)
        (s, o, e) = try runSemcom(["run", script, "--cache", cache, "--plan", "--no-calibrate"], directory: tmp.path)
        XCTAssertTrue(o.contains("nothing to compute"), o)
        XCTAssertTrue(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("swept.csv").path), "with every answer stored the script runs")
        (s, o, e) = try runSemcom(["run", script, "--cache", cache, "--plan-out", scriptPlan])
        XCTAssertEqual(s, 2, e)

        for (args, code) in [(["memo", "fill", "--plan", out, "--shard", "2/2", "--out", shards[0]], Int32(2)),
                             (["memo", "fill", "--plan", cache, "--out", shards[0]], 1)] {
            (s, o, e) = try runSemcom(args)
            XCTAssertEqual(s, code, "\(args): \(e)")
            XCTAssertEqual(e.split(separator: "\n").count, 1, e)
        }
    }

    /// The experiment scripts travel with the binary: `semcom run NAME` runs a
    /// built-in script from any folder, and `semcom demo` run outside the
    /// repository (real weights and images given) runs them all.
    func testBuiltInExperimentScriptsRunFromAnyFolder() throws {
        let cache = try buildCache()
        var (status, _, stderr) = try runSemcom(["run", "table1", "--cache", cache, "--out", "o"], directory: tmp.path)
        XCTAssertEqual(status, 0, stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: tmp.path + "/o/table1.csv"))
        (status, _, stderr) = try runSemcom(["run", "nosuch", "--cache", cache], directory: tmp.path)
        XCTAssertEqual(status, 1)
        XCTAssertEqual(stderr, "Error: nosuch: no such script file, nor an experiment script built into semcom (\(Experiments.bundled.map(\.name).joined(separator: ", ")))\n")

        let digits = repositoryRoot.appendingPathComponent("Demo/digits/eval").path
        let rows = try (0..<2).map { c in "\(digits)/\(c)/" + (try FileManager.default.contentsOfDirectory(atPath: "\(digits)/\(c)").sorted()[0]) + ",\(c)" }
        try ("path,label\n" + rows.joined(separator: "\n")).write(toFile: tmp.path + "/images.csv", atomically: false, encoding: .utf8)
        let models = repositoryRoot.appendingPathComponent("Demo/models").path
        let stdout: String
        (status, stdout, stderr) = try runSemcom(["demo", "--edge", models + "/edge.safetensors", "--server", models + "/server.safetensors",
                                                  "--images", "images.csv", "--out", "demo", "--threads", "2"], directory: tmp.path)
        XCTAssertEqual(status, 0, stderr)
        // Every script runs but fig09, which needs a small server the demo does not build.
        XCTAssertEqual(stdout.components(separatedBy: ".semcom: done").count - 1, Experiments.bundled.count - 1, stdout)
        XCTAssertTrue(stdout.contains("fig09.semcom: skipped: fig09.semcom:6: this needs run(s) small"), stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: tmp.path + "/demo/fig08.svg"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: tmp.path + "/demo/bytes.svg"))
    }

    /// A Foundation error (here: an output folder under a regular file) is one
    /// line naming the path, never a Foundation error domain.
    func testFoundationErrorsAreOneLineNamingThePath() throws {
        try "x".write(toFile: tmp.path + "/file", atomically: false, encoding: .utf8)
        let models = repositoryRoot.appendingPathComponent("Demo/models").path
        let (status, _, stderr) = try runSemcom(["demo", "--edge", models + "/edge.safetensors", "--server", models + "/server.safetensors",
                                                 "--images", tmp.path, "--out", tmp.path + "/file/sub"])
        XCTAssertEqual(status, 1)
        XCTAssertFalse(stderr.contains("Domain"), stderr)
        XCTAssertTrue(stderr.hasPrefix("Error: \(tmp.path)/file/sub: "), stderr)
        XCTAssertEqual(stderr.split(separator: "\n").count, 1, stderr)
    }

    func testBadArgumentsGiveOneLineErrors() throws {
        let cache = try buildCache()
        for (args, word) in [(["eval", "--cache", cache, "--edge", "nope", "--server", "server"], "nope"),
                             (["eval", "--cache", cache, "--edge", "edge", "--server", "server", "--rule", "sum"], "--rule"),
                             (["eval", "--cache", cache, "--edge", "edge", "--server", "server", "--measure", "foo"], "foo"),
                             (["eval", "--cache", tmp.appendingPathComponent("none.h5").path, "--edge", "e", "--server", "s"], "none.h5"),
                             (["cache", "build", "--out", cache, "--images", "/nonexistent", "--model", "a=auto:\(weights)"], "/nonexistent")] {
            let (status, _, stderr) = try runSemcom(args)
            XCTAssertNotEqual(status, 0, "\(args)")
            XCTAssertTrue(stderr.contains(word), "\(args): \(stderr)")
            XCTAssertEqual(stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count, 1, stderr)
        }
    }
}
