import Attention
import Entropy
import Foundation
import Tensors
import XCTest
@testable import Collaborative

/// The bundled demo models on a slice of the bundled evaluation set, against
/// timm's answers written down when the models were trained
/// (`Demo/models/reference.csv`, from `Scripts/demo_reference.py`): a change in
/// the inference code that shifts any edge, server or subset prediction, any k or
/// the headline fails here (near-ties, where float32 rounding may flip an answer, are left out).
final class DemoModelTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Row {
        var file: String
        var label, edgePred, serverPred, k, subsetPred: Int
        var edgeGap, serverGap, subsetGap, minEntropy, boundary: Double
    }

    func reference() throws -> [Row] {
        let path = Self.root.appendingPathComponent("Demo/models/reference.csv").path
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        let header = lines[0]
        func column(_ name: String) throws -> Int {
            guard let i = header.firstIndex(of: name) else { throw ReferenceError("\(path): no column \(name)") }
            return i
        }
        let (file, label, ep, eg, sp, sg, h, k, b, up, ug) = (try column("file"), try column("label"), try column("edge_pred"),
            try column("edge_gap"), try column("server_pred"), try column("server_gap"), try column("min_entropy"),
            try column("k"), try column("boundary"), try column("subset_pred"), try column("subset_gap"))
        return lines.dropFirst().map { f in
            Row(file: f[file], label: Int(f[label])!, edgePred: Int(f[ep])!, serverPred: Int(f[sp])!, k: Int(f[k])!,
                subsetPred: Int(f[up])!, edgeGap: Double(f[eg])!, serverGap: Double(f[sg])!, subsetGap: Double(f[ug])!,
                minEntropy: Double(f[h])!, boundary: Double(f[b])!)
        }
    }

    struct ReferenceError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    func testBundledModelsReproduceTheirTrainingTimeAnswers() throws {
        let all = try reference()
        XCTAssertEqual(all.count, 2000)
        // Every 10th image, leaving out near-ties (top-2 logit gap under 1e-3, or kept
        // mass within 1e-4 of delta), where float32 rounding may legitimately flip an answer.
        let eta = 0.8
        func clearCut(_ r: Row) -> Bool {
            let sentClearly = r.minEntropy < eta || r.subsetGap > 1e-3
            return r.edgeGap > 1e-3 && r.serverGap > 1e-3 && r.boundary > 1e-4 && abs(r.minEntropy - eta) > 1e-4 && sentClearly
        }
        let slice: [Row] = stride(from: 0, to: all.count, by: 10).map { all[$0] }.filter(clearCut)
        XCTAssertGreaterThan(slice.count, 180, "too many near-ties in the reference")

        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-demo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let csv = tmp.appendingPathComponent("slice.csv").path
        let eval = Self.root.appendingPathComponent("Demo/digits/eval").path
        let rows: [String] = slice.map { "\(eval)/\($0.file),\($0.label)" }
        try rows.joined(separator: "\n").write(toFile: csv, atomically: false, encoding: .utf8)

        let models = ["edge", "server"].map {
            ModelSpec(name: $0, arch: "auto", weights: Self.root.appendingPathComponent("Demo/models/\($0).safetensors").path)
        }
        var builder = CacheBuilder(images: try ImageList.load(csv), models: models)
        builder.threads = 2
        builder.preprocessing.size = 64
        builder.preprocessing.cropPct = 1
        let path = tmp.appendingPathComponent("cache.h5").path
        try builder.build(path)

        let evaluator = Evaluator(cache: try Cache(path: path))
        let setting = Setting(edge: "edge", server: "server", rule: .sum(0.97), gate: .minEntropy(eta))
        XCTAssertEqual(try evaluator.predictions("edge").map(Int.init), slice.map { $0.edgePred })
        XCTAssertEqual(try evaluator.predictions("server").map(Int.init), slice.map { $0.serverPred })
        XCTAssertEqual(try evaluator.keptPatches(setting.rule, ordering: setting.ordering, patches: 64), slice.map { $0.k })
        let scores = try XCTUnwrap(try evaluator.gateScores("edge", setting.gate))
        for (s, r) in zip(scores, slice) { XCTAssertEqual(s, r.minEntropy, accuracy: 1e-4, r.file) }

        // The headline on this slice, computed from the reference rows directly.
        let n = Double(slice.count)
        let sent = slice.filter { $0.minEntropy >= eta }
        let result = try evaluator.evaluate(setting)
        // The server's answer on the kept patches of every sent image, as evaluate stored it.
        let memo = try MemoTable.stored(MemoTable.key(server: "server", ordering: setting.ordering), in: evaluator.cache)
        for (i, r) in slice.enumerated() where r.minEntropy >= eta {
            XCTAssertEqual(Int(memo[i * 65 + r.k]), r.subsetPred, r.file)
        }
        XCTAssertEqual(result.edgeAccuracy, Double(slice.filter { $0.edgePred == $0.label }.count) / n, accuracy: 1e-12)
        XCTAssertEqual(result.serverAccuracy, Double(slice.filter { $0.serverPred == $0.label }.count) / n, accuracy: 1e-12)
        XCTAssertEqual(result.sentFraction, Double(sent.count) / n, accuracy: 1e-12)
        XCTAssertEqual(result.commCost, Double(sent.map { $0.k }.reduce(0, +)) / n / 64, accuracy: 1e-12)
        let collaborative = slice.filter { ($0.minEntropy >= eta ? $0.subsetPred : $0.edgePred) == $0.label }.count
        XCTAssertEqual(result.accuracy, Double(collaborative) / n, accuracy: 1e-12)
    }
}
