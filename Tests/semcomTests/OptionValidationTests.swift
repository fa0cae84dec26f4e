import Foundation
import XCTest

/// Issue 10 item 3: options are validated where they are parsed. Every
/// reported case exits with the usage status (2), never a trap (132/134) or a
/// hang, and its message names the option and the bad value.
final class OptionValidationTests: XCTestCase {
    /// A cache of 10 demo images, edge and server both the bundled edge model (64 patches).
    static let cache: String = {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-options-\(UUID().uuidString)")
        let source = repositoryRoot.appendingPathComponent("Demo/digits/eval").path
        for c in 0..<10 {
            try! FileManager.default.createDirectory(atPath: "\(tmp.path)/data/\(c)", withIntermediateDirectories: true)
            let f = try! FileManager.default.contentsOfDirectory(atPath: "\(source)/\(c)").sorted()[0]
            try! FileManager.default.copyItem(atPath: "\(source)/\(c)/\(f)", toPath: "\(tmp.path)/data/\(c)/\(f)")
        }
        let weights = repositoryRoot.appendingPathComponent("Demo/models/edge.safetensors").path
        let out = tmp.appendingPathComponent("c.h5").path
        let (s, _, e) = try! runSemcom(["cache", "build", "--out", out, "--images", "\(tmp.path)/data", "--size", "64", "--crop-pct", "1",
                                        "--batch", "8", "--threads", "2", "--model", "edge=auto:\(weights)", "--model", "server=auto:\(weights)"])
        precondition(s == 0, e)
        return out
    }()

    func point(_ extra: [String]) -> [String] { ["eval", "--cache", Self.cache, "--edge", "edge", "--server", "server"] + extra }

    /// `arguments` exits 2 (bad usage) and stderr names each of `words`.
    func assertUsage(_ arguments: [String], _ words: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let (status, _, stderr) = try runSemcom(arguments)
        XCTAssertEqual(status, 2, "\(arguments): \(stderr)", file: file, line: line)
        for w in words { XCTAssertTrue(stderr.contains(w), "\(arguments): '\(w)' not in \(stderr)", file: file, line: line) }
    }

    func testBatchThreadsAndIterations() throws {
        let bench = ["bench", "--arch", "deit_tiny_patch16_224"]
        try assertUsage(bench + ["--batch", "0"], ["--batch", "0"])
        try assertUsage(bench + ["--batch=-1"], ["--batch", "-1"])
        try assertUsage(bench + ["--threads", "100000"], ["--threads", "100000"])
        try assertUsage(bench + ["--threads", "5000"], ["--threads", "5000"])
        try assertUsage(bench + ["--threads", "0"], ["--threads", "0"])
        try assertUsage(bench + ["--iters", "0"], ["--iters", "0"])
        try assertUsage(bench + ["--keep", "0"], ["--keep", "0"])
        try assertUsage(["infer", "--weights", "w.safetensors", "--top=-1", "a.png"], ["--top", "-1"])
        try assertUsage(["infer", "--weights", "w.safetensors", "--batch", "0", "a.png"], ["--batch", "0"])
        try assertUsage(["preprocess", "--threads", "100000", "--out", "x.npy", "a.png"], ["--threads", "100000"])
        try assertUsage(["repl", "--threads", "0"], ["--threads", "0"])
        try assertUsage(["run", "s.semcom", "--threads", "100000"], ["--threads", "100000"])
        try assertUsage(["demo", "--threads", "0"], ["--threads", "0"])
        try assertUsage(["demo", "--crop-pct", "1e-9"], ["--crop-pct", "1e-09"])
    }

    func testLinkOptions() throws {
        let serve = ["serve", "--model", "auto:w.safetensors", "--key-file", "k"]
        try assertUsage(serve + ["--listen", "nohost"], ["--listen", "nohost"])
        try assertUsage(serve + ["--listen", "h:70000"], ["--listen", "h:70000"])
        try assertUsage(serve + ["--listen", "h:1", "--batch-wait=-1"], ["--batch-wait", "-1"])
        try assertUsage(serve + ["--listen", "h:1", "--window", "0"], ["--window", "0"])
        try assertUsage(serve + ["--listen", "h:1", "--max-frame", "10"], ["--max-frame", "10"])
        try assertUsage(serve + ["--listen", "h:1", "--log-level", "loud"], ["--log-level", "loud"])
        try assertUsage(["serve", "--model", "w.safetensors", "--key-file", "k", "--listen", "h:1"], ["--model", "w.safetensors"])
        let edge = ["edge", "--model", "auto:w.safetensors", "--key-file", "k", "--images", "i", "--server", "h:1"]
        try assertUsage(edge + ["--codec", "full-jpeg:50"], ["--codec", "full-jpeg:50"])
        try assertUsage(edge + ["--rule", "sum:2"], ["--rule"])
        try assertUsage(edge + ["--gate", "min"], ["--gate", "min"])
        try assertUsage(edge + ["--limit", "0"], ["--limit", "0"])
        try assertUsage(edge + ["--retry-for", "nan"], ["--retry-for", "nan"])
        try assertUsage(["link-load"] + edge.dropFirst() + ["--clients", "0"], ["--clients", "0"])
        try assertUsage(["relay", "--listen", "h:1", "--to", "h:2", "--delay=-5"], ["--delay", "-5"])
        try assertUsage(["link-report", "0=a.csv"], ["0=a.csv"])
        try assertUsage(["link-report", "--tolerance", "0", "1=a.csv"], ["--tolerance", "0"])
        // A key file that is not there is bad input (exit 1) naming it.
        let model = "auto:" + repositoryRoot.appendingPathComponent("Demo/models/server.safetensors").path
        let (status, _, stderr) = try runSemcom(["serve", "--model", model, "--key-file", "/nonexistent/k", "--listen", "127.0.0.1:0"])
        XCTAssertEqual(status, 1, stderr)
        XCTAssertTrue(stderr.contains("/nonexistent/k"), stderr)
    }

    func testCacheBuildOptions() throws {
        let build = ["cache", "build", "--out", "/nonexistent/c.h5", "--images", "/nonexistent", "--model", "a=auto:w.safetensors"]
        try assertUsage(build + ["--batch", "0"], ["--batch", "0"])
        try assertUsage(build + ["--batch=-1"], ["--batch", "-1"])
        try assertUsage(build + ["--threads", "100000"], ["--threads", "100000"])
        for shard in ["0/9223372036854775807", "0/0", "3/3", "-1/2", "1/2/3", "a/2", "1/"] {
            try assertUsage(build + ["--shard=\(shard)"], ["--shard", shard])
        }
    }

    func testImageOptions() throws {
        try assertUsage(["preprocess", "--crop-pct", "1e-9", "--out", "x.npy", "a.png"], ["--crop-pct", "1e-09"])
        try assertUsage(["preprocess", "--crop-pct", "nan", "--out", "x.npy", "a.png"], ["--crop-pct", "nan"])
        try assertUsage(["preprocess", "--size", "0", "--out", "x.npy", "a.png"], ["--size", "0"])
        try assertUsage(["preprocess", "--size", "100000", "--out", "x.npy", "a.png"], ["--size", "100000"])
    }

    func testRulesGatesAndRates() throws {
        for rule in ["topk:1e30", "topk:0", "random:0", "topk:1.5", "sum:inf", "sum:1.5", "sum:-0.1", "sum:nan", "threshold:2", "threshold:-1"] {
            try assertUsage(point(["--rule", rule]), ["--rule", rule])
        }
        for gate in ["min:-1", "shannon:nan", "min:inf", "margin:2", "margin:-0.5", "renyi:0:1", "renyi:-1:1", "renyi:2:-1"] {
            try assertUsage(point(["--gate", gate]), ["--gate", gate])
        }
        try assertUsage(point(["--temperature", "0"]), ["temperature", "0"])
        try assertUsage(point(["--temperature", "inf"]), ["temperature", "inf"])
        try assertUsage(point(["--uplink", "0"]), ["--uplink", "0"])
        try assertUsage(point(["--uplink=-5"]), ["--uplink", "-5"])
        try assertUsage(point(["--measure", "head:x"]), ["--measure", "head:x"])
    }

    func testRanges() throws {
        let sweep = ["sweep", "--cache", Self.cache, "--edge", "edge", "--server", "server", "--out", "/nonexistent/s.csv"]
        try assertUsage(sweep + ["--rule-range", "0:1:1e-300"], ["--rule-range", "0:1:1e-300", "1000000"])
        try assertUsage(sweep + ["--rule-range", "0:1e9:1"], ["--rule-range", "0:1e9:1"])
        try assertUsage(sweep + ["--rule-range", "0:1:0.0001", "--gate-range", "0:10:0.0001"], ["--gate-range", "too many points"])
        try assertUsage(sweep + ["--rule", "topk:8", "--rule-range", "0:1e6:1"], ["--rule-range", "0:1e6:1"])
        try assertUsage(sweep + ["--rule", "topk:8", "--rule-range", "0:64:8"], ["--rule-range", "0:64:8"])
        try assertUsage(sweep + ["--rule-range", "0:nan:0.1"], ["--rule-range", "0:nan:0.1"])
        try assertUsage(sweep + ["--gate-range", "0:inf:1"], ["--gate-range", "0:inf:1"])
        try assertUsage(sweep + ["--gate-range", "1,nan"], ["--gate-range", "1,nan"])
        try assertUsage(sweep + ["--gate", "margin:0.5", "--gate-range", "0:2:0.5"], ["--gate-range", "0:2:0.5"])
        let table = ["table", "patches", "--cache", Self.cache, "--edge", "edge", "--server", "server"]
        try assertUsage(table + ["--values", "0:inf:1"], ["--values", "0:inf:1"])
        try assertUsage(table + ["--values", "0.5,1.5"], ["--values", "0.5,1.5"])
        try assertUsage(["table", "transmit", "--cache", Self.cache, "--edge", "edge", "--server", "server", "--values=-1,1"], ["--values", "-1,1"])
    }

    /// Rules that depend on the cache are checked when it is opened, before any work.
    func testCacheDependentChecks() throws {
        try assertUsage(point(["--rule", "topk:1000"]), ["topk:1000", "64 patches"])
        try assertUsage(point(["--rule", "random:65"]), ["random:65", "64 patches"])
        try assertUsage(["eval", "--cache", Self.cache, "--edge", "edge", "--server", "servr"], ["--server", "servr", "did you mean 'server'"])
        try assertUsage(["eval", "--cache", Self.cache, "--edge", "nosuchrun", "--server", "server"], ["--edge", "nosuchrun"])
        try assertUsage(point(["--measure", "head:9"]), ["--measure", "head:9"])
        let sweep = ["sweep", "--cache", Self.cache, "--edge", "edge", "--server", "server", "--out", "/nonexistent/s.csv", "--rule", "topk:8"]
        try assertUsage(sweep + ["--rule-range", "8:72:8"], ["72", "64 patches"])
        // In range: these work.
        let (s, out, e) = try runSemcom(point(["--rule", "topk:64", "--gate", "margin:1", "--measure", "head:0"]))
        XCTAssertEqual(s, 0, e)
        XCTAssertTrue(out.contains("collaborative accuracy"), out)
    }
}
