import Attention
import Entropy
import Foundation
import HDF5IO
import Imaging
import Safety
import Tensors
import ViT
import XCTest
@testable import Collaborative

/// End to end: a cache built from two small random ViTs over real image
/// files; `evaluate` against a direct run of Algorithm 1; resumed and
/// sharded-then-merged builds against a plain one.
final class CacheTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var tmp: URL!
    var images: ImageList!
    var models: [ModelSpec] = []
    let edgeConfig = ViTConfig(embedDim: 32, depth: 2, numHeads: 2, numClasses: 10)
    let serverConfig = ViTConfig(embedDim: 48, depth: 2, numHeads: 3, numClasses: 10)

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-cache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        for (name, config, seed) in [("edge", edgeConfig, UInt64(1)), ("server", serverConfig, 2)] {
            let path = tmp.appendingPathComponent("\(name).safetensors").path
            try SafeTensors.write(ViTWeights.random(config, seed: seed, std: 0.3).timmTensors(config),
                                  metadata: ["num_heads": "\(config.numHeads)"], to: path)
            models.append(ModelSpec(name: name, arch: "auto", weights: path))
        }
        // Real image files: the imaging fixtures and the demo photograph, labels 0..9 in turn.
        let dir = Self.root.appendingPathComponent("Tests/Fixtures/imaging")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { $0.hasSuffix(".jpg") || $0.hasSuffix(".png") }.sorted().prefix(9).map { dir.appendingPathComponent($0).path }
            + [Self.root.appendingPathComponent("Demo/example.jpg").path]
        let csv = files.enumerated().map { "\($1),\($0 % 10)" }.joined(separator: "\n")
        let csvPath = tmp.appendingPathComponent("images.csv").path
        try csv.write(toFile: csvPath, atomically: false, encoding: .utf8)
        images = try ImageList.load(csvPath)
        XCTAssertEqual(images.count, 10)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func build(_ name: String, _ configure: (inout CacheBuilder) -> Void = { _ in }) throws -> String {
        var b = CacheBuilder(images: images, models: models)
        b.threads = 2
        b.batch = 4
        configure(&b)
        let path = tmp.appendingPathComponent(name).path
        try b.build(path)
        return path
    }

    func testEvaluateEqualsADirectRunOfAlgorithm1() throws {
        let path = try build("c.h5")
        let evaluator = Evaluator(cache: try Cache(path: path))
        let edge = try VisionTransformer(weightsPath: models[0].weights)
        let server = try VisionTransformer(weightsPath: models[1].weights)
        let pre = Preprocessing()
        for (rule, gate) in [(SelectionRule.sum(0.6), Gate.minEntropy(2.0)), (.threshold(0.004), .shannon(3.0)),
                             (.topK(50), .none), (.sum(0.3), .margin(0.5))] {
            let result = try evaluator.evaluate(Setting(edge: "edge", server: "server", rule: rule, gate: gate))
            var correct = 0, sent = 0, patches = 0, edgeCorrect = 0, serverCorrect = 0
            var edgeTop5 = 0, serverTop5 = 0, correctTop5 = 0, keeping = 0, minScores = 0.0, sums = 0.0
            /// Whether `label` is among the 5 largest of `v` (ties: lower class first).
            func top5(_ v: [Float], _ label: Int) -> Bool {
                v.indices.sorted { v[$0] > v[$1] || (v[$0] == v[$1] && $0 < $1) }.prefix(5).contains(label)
            }
            for (i, file) in images.paths.enumerated() {
                let x = Tensor(shape: [1, 3, 224, 224], scalars: try pre.networkInput(contentsOf: file))
                let e = edge.forward(x)
                let p = Uncertainty.probabilities(e.logits.scalars[...])
                let edgeClass = p.indices.max { p[$0] < p[$1] }!
                let importance = Importance.mean(classAttention: e.classAttention).scalars
                let order = Ordering.byScore(importance[...])
                let k = rule.keep(sorted: order.map { importance[$0] }[...])
                let full = server.forward(x).logits.scalars
                let label = Int(images.labels[i])
                if full.indices.max(by: { full[$0] < full[$1] })! == label { serverCorrect += 1 }
                if edgeClass == label { edgeCorrect += 1 }
                if top5(e.logits.scalars, label) { edgeTop5 += 1 }
                if top5(full, label) { serverTop5 += 1 }
                if gate.sends(p) {
                    sent += 1
                    patches += k
                    let kept = order.prefix(k).map { Double(importance[$0]) }
                    if let smallest = kept.last { keeping += 1; minScores += smallest }
                    sums += kept.reduce(0, +)
                    let s = server.forward(x, keep: [Array(order.prefix(k))]).logits.scalars
                    if s.indices.max(by: { s[$0] < s[$1] })! == label { correct += 1 }
                    if top5(s, label) { correctTop5 += 1 }
                } else {
                    if edgeClass == label { correct += 1 }
                    if top5(e.logits.scalars, label) { correctTop5 += 1 }
                }
            }
            let n = Double(images.count)
            XCTAssertEqual(result.accuracy, Double(correct) / n, "\(rule) \(gate)")
            XCTAssertEqual(result.edgeAccuracy, Double(edgeCorrect) / n)
            XCTAssertEqual(result.serverAccuracy, Double(serverCorrect) / n)
            XCTAssertEqual(result.sentFraction, Double(sent) / n, "\(rule) \(gate)")
            XCTAssertEqual(result.patchesPerSent, sent > 0 ? Double(patches) / Double(sent) : 0, accuracy: 1e-12)
            XCTAssertEqual(result.commCost, Double(patches) / n / 196, accuracy: 1e-12)
            // What the authors' code reports besides (issue 12 item 5).
            XCTAssertEqual(result.confidentImages, images.count - sent)
            XCTAssertEqual(result.accuracyTop5, Double(correctTop5) / n, "\(rule) \(gate)")
            XCTAssertEqual(result.edgeAccuracyTop5, Double(edgeTop5) / n)
            XCTAssertEqual(result.serverAccuracyTop5, Double(serverTop5) / n)
            if keeping > 0 { XCTAssertEqual(result.meanMinAttention, minScores / Double(keeping), accuracy: 1e-6, "\(rule) \(gate)") }
            else { XCTAssertTrue(result.meanMinAttention.isNaN, "no sent image keeps a patch: \(rule) \(gate)") }
            if sent > 0 { XCTAssertEqual(result.meanAttentionSum, sums / Double(sent), accuracy: 1e-6, "\(rule) \(gate)") }
            else { XCTAssertTrue(result.meanAttentionSum.isNaN, "nothing sent: \(rule) \(gate)") }
        }
    }

    /// The low-resolution baseline: the server run on images reduced to 56 px and
    /// enlarged back; sent images get its full-image answer at cost (56/224)^2.
    func testLowResolutionServerRun() throws {
        models.append(ModelSpec(name: "server_at_56px", arch: "auto", weights: models[1].weights, lowResolution: 56))
        let path = try build("c.h5")
        let evaluator = Evaluator(cache: try Cache(path: path))  // read-only: no memo is needed
        XCTAssertEqual(try evaluator.cache.run("server_at_56px").lowResolution, 56)
        let edge = try VisionTransformer(weightsPath: models[0].weights)
        let server = try VisionTransformer(weightsPath: models[1].weights)
        var low = Preprocessing()
        low.lowResolution = 56
        let gate = Gate.minEntropy(2.0)
        var correct = 0, correctTop5 = 0, sent = 0
        /// Whether `label` is among the 5 largest of `v` (ties: lower class first).
        func top5(_ v: [Float], _ label: Int) -> Bool {
            v.indices.sorted { v[$0] > v[$1] || (v[$0] == v[$1] && $0 < $1) }.prefix(5).contains(label)
        }
        for (i, file) in images.paths.enumerated() {
            let image = try RGBImage(contentsOf: file)
            let crop = Preprocessing().crop(image)
            let reduced = low.normalize(crop.resizedBicubic(width: 56, height: 56).resizedBicubic(width: 224, height: 224))
            XCTAssertEqual(low.networkInput(image), reduced)
            let e = edge.forward(Tensor(shape: [1, 3, 224, 224], scalars: Preprocessing().networkInput(image))).logits.scalars
            let p = Uncertainty.probabilities(e[...])
            var answer = p.indices.max { p[$0] < p[$1] }!, logits = e
            if gate.sends(p) {
                sent += 1
                logits = server.forward(Tensor(shape: [1, 3, 224, 224], scalars: reduced)).logits.scalars
                answer = logits.indices.max { logits[$0] < logits[$1] }!
            }
            if answer == Int(images.labels[i]) { correct += 1 }
            if top5(logits, Int(images.labels[i])) { correctTop5 += 1 }
        }
        let n = Double(images.count)
        for rule in [SelectionRule.sum(0.5), .topK(3)] {  // rules do not apply to it
            let r = try evaluator.evaluate(Setting(edge: "edge", server: "server_at_56px", rule: rule, gate: gate))
            XCTAssertEqual(r.accuracy, Double(correct) / n)
            XCTAssertEqual(r.accuracyTop5, Double(correctTop5) / n)
            XCTAssertEqual(r.sentFraction, Double(sent) / n)
            XCTAssertEqual(r.commCost, Double(sent) / n / 16, accuracy: 1e-12)
            XCTAssertEqual(r.patchesPerSent, sent > 0 ? 196.0 / 16 : 0, accuracy: 1e-12)
        }
    }

    func testSweepMatchesPointwiseEvaluation() throws {
        let path = try build("c.h5")
        let evaluator = Evaluator(cache: try Cache(path: path))
        let base = Setting(edge: "edge", server: "server", rule: .sum(0.5), gate: .minEntropy(1))
        let deltas = [0.2, 0.5, 0.8, 1.0], etas = [0.0, 2.0, 3.0, 10.0]
        let grid = try evaluator.sweep(base, ruleParameters: deltas, gateThresholds: etas)
        let fresh = Evaluator(cache: try Cache(path: path))  // read-only: everything must be memoised now
        for (i, d) in deltas.enumerated() {
            for (j, e) in etas.enumerated() {
                var s = base
                s.rule = .sum(d)
                s.gate = .minEntropy(e)
                XCTAssertEqual(grid[i * etas.count + j], try fresh.evaluate(s), "delta \(d) eta \(e)")
            }
        }
    }

    /// A rule and a measure of one's own (what `Examples/` shows) go through
    /// the same sweep as the built-in ones: re-implemented here image by image,
    /// without a batched criterion, they give exactly the built-in numbers.
    func testCustomRuleAndMeasureEqualTheBuiltInOnesTheyReimplement() throws {
        struct SumPerImage: SelectionRuleProtocol {
            var delta: Double
            func keep(sorted: ArraySlice<Float>) -> Int {
                var k = 0, total = 0.0
                for s in sorted { total += Double(s); if delta < 1 && total > delta { break }; k += 1 }
                return k
            }
            var parameter: Double { delta }
            func with(parameter x: Double) -> SumPerImage { SumPerImage(delta: x) }
            var description: String { "sum-per-image:\(delta)" }
        }
        struct MaxProbability: UncertaintyMeasureProtocol {  // the margin's direction: larger is more confident
            func value(_ p: [Double]) -> Double { p.max()! }
            var growsWithUncertainty: Bool { false }
            var description: String { "max-probability" }
        }
        let path = try build("c.h5")
        let evaluator = Evaluator(cache: try Cache(path: path))
        let deltas = [0.2, 0.5, 0.8, 1.0], etas = [0.0, 1.5, 3.0, 10.0]
        let builtIn = try evaluator.sweep(Setting(edge: "edge", server: "server", rule: .sum(0.5), gate: .minEntropy(1)),
                                          ruleParameters: deltas, gateThresholds: etas)
        // min-entropy >= eta  <=>  max p <= 2^-eta
        let custom = try evaluator.sweep(Setting(edge: "edge", server: "server", rule: .custom(SumPerImage(delta: 0.5)),
                                                 gate: .threshold(.custom(MaxProbability()), 0.5)),
                                         ruleParameters: deltas, gateThresholds: etas.map { pow(2, -$0) })
        XCTAssertEqual(custom, builtIn)
        XCTAssertGreaterThan(Set(builtIn.map(\.accuracy)).count, 2, "the grid must tell settings apart")
        XCTAssertEqual(SelectionRule.custom(SumPerImage(delta: 0.3)).with(parameter: 0.7), .custom(SumPerImage(delta: 0.7)))
        XCTAssertNotEqual(SelectionRule.custom(SumPerImage(delta: 0.3)), .sum(0.3))
    }

    /// Issue 12 item 7: every dataset of a cache says what it holds and in what units.
    func testEveryDatasetCarriesUnitsAndADescription() throws {
        let path = try build("c.h5")
        _ = try Evaluator(cache: try Cache(path: path)).evaluate(Setting(edge: "edge", server: "server"))  // makes a memo table
        let f = try HDF5File.open(path)
        var datasets = [CacheLayout.paths, CacheLayout.labels, CacheLayout.status, CacheLayout.errors, CacheLayout.bytes, CacheLayout.sha256]
        for run in ["edge", "server"] { datasets += CacheLayout.runDatasets.map { CacheLayout.run(run, $0) } }
        datasets += try MemoTable.keys(in: try Cache(path: path))
        XCTAssertEqual(datasets.filter { $0.hasPrefix(CacheLayout.memo) }.count, 1)
        for d in datasets {
            let ds = try f.openDataset(d)
            XCTAssertTrue(try ds.hasAttribute("units") && ds.hasAttribute("description"), d)
            XCTAssertFalse(try ds.attribute("description", as: String.self).isEmpty, d)
        }
    }

    /// Every dataset and attribute of a cache, for equality checks.
    func contents(_ path: String) throws -> [String: String] { try HDF5File.open(path).inventory() }

    func assertSameContents(_ a: [String: String], _ b: [String: String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.keys.sorted(), b.keys.sorted(), file: file, line: line)
        let differing = a.keys.filter { b[$0] != nil && a[$0] != b[$0] }.sorted()
        XCTAssertTrue(differing.isEmpty, "differing: \(differing)", file: file, line: line)
    }

    func testResumedBuildEqualsAPlainOne() throws {
        let plain = try contents(try build("plain.h5"))
        let path = try build("resumed.h5") { $0.stopAfterRows = 5 }
        XCTAssertEqual(try Cache(path: path).run("edge").completed, 8)  // two batches of 4
        _ = try build("resumed.h5")
        assertSameContents(try contents(path), plain)
    }

    func testShardedThenMergedEqualsAPlainBuild() throws {
        let plain = try contents(try build("plain.h5"))
        let shards = try (0..<3).map { i in try build("shard\(i).h5") { $0.images = self.images.shard(i, of: 3, alignment: 4); $0.shard = (i, 3) } }
        let merged = tmp.appendingPathComponent("merged.h5").path
        try Cache.merge(shards: shards.reversed(), into: merged)
        assertSameContents(try contents(merged), plain)
        XCTAssertThrowsError(try Cache.merge(shards: Array(shards.prefix(2)), into: tmp.appendingPathComponent("m2.h5").path)) {
            XCTAssertTrue("\($0)".contains("missing shard"), "\($0)")
        }
    }

    func testStaleCacheIsRefused() throws {
        let path = try build("c.h5")
        var other = models
        other[1].weights = models[0].weights
        other[1].name = "server"
        var b = CacheBuilder(images: images, models: other)
        b.batch = 4
        XCTAssertThrowsError(try b.build(path)) {
            XCTAssertTrue("\($0)".contains("other weights"), "\($0)")
            XCTAssertEqual(($0 as? CacheError)?.kind, .stale)
        }
        b = CacheBuilder(images: images.limited(to: 3), models: models)
        b.batch = 4
        XCTAssertThrowsError(try b.build(path)) { XCTAssertTrue("\($0)".contains("different image list"), "\($0)") }
        b = CacheBuilder(images: images, models: models)
        b.batch = 2
        XCTAssertThrowsError(try b.build(path)) { XCTAssertTrue("\($0)".contains("--batch 4"), "\($0)") }
    }

    // MARK: Progress, partial caches, non-finite outputs (issue 9)

    func testAnIncompleteRunIsRefusedAndAPartialEvaluationStoresNoAnswerForUnbuiltRows() throws {
        let path = try build("c.h5") { $0.stopAfterRows = 5 }  // two batches of 4: rows 0..<8
        let setting = Setting(edge: "edge", server: "server", rule: .topK(20), gate: .none)
        XCTAssertThrowsError(try Evaluator(cache: try Cache(path: path)).evaluate(setting)) {
            XCTAssertTrue("\($0)".contains("\(path): run 'edge' is incomplete: 8 of 10 images"), "\($0)")
            XCTAssertEqual(($0 as? CacheError)?.kind, .incomplete)
        }
        let partial = Evaluator(cache: try Cache(path: path))
        partial.allowPartial = true
        let r = try partial.evaluate(setting)
        XCTAssertEqual(r.images, 8)
        XCTAssertEqual(r.totalImages, 10)
        XCTAssertTrue(r.partial)
        XCTAssertEqual(r.coverage, "over 8 of 10 images; completed rows only (partial: some runs are not built to the end)")
        let memo = try MemoTable.stored(MemoTable.key(server: "server", ordering: setting.ordering), in: Cache(path: path))
        XCTAssertTrue(memo[(8 * 197)...].allSatisfy { $0 == -1 }, "rows 8 and 9 are not built: no server answer stored")
        XCTAssertTrue((0..<8).allSatisfy { memo[$0 * 197 + 20] >= 0 })

        // Finished, the cache answers as one built in one go, the stored answers included.
        _ = try build("c.h5")
        let finished = try Evaluator(cache: try Cache(path: path)).evaluate(setting)
        let fresh = try Evaluator(cache: try Cache(path: try build("fresh.h5"))).evaluate(setting)
        XCTAssertEqual(finished, fresh)
        XCTAssertFalse(finished.partial)
        XCTAssertNil(finished.coverage)
    }

    func testACacheWithNoCompleteRowIsAnError() throws {
        let path = try build("c.h5") { $0.stopAfterRows = 0 }
        let e = Evaluator(cache: try Cache(path: path))
        e.allowPartial = true
        XCTAssertThrowsError(try e.evaluate(Setting(edge: "edge", server: "server"))) {
            XCTAssertTrue("\($0)".contains("no complete rows"), "\($0)")
        }
        var b = CacheBuilder(images: ImageList(paths: [], labels: []), models: models)
        XCTAssertThrowsError(try b.build(tmp.appendingPathComponent("empty.h5").path)) {
            XCTAssertTrue("\($0)".contains("no images"), "\($0)")
        }
        b.images = images
        b.batch = 0
        XCTAssertThrowsError(try b.build(tmp.appendingPathComponent("b0.h5").path))
    }

    func testANonFiniteOutputIsAnErrorNamingTheImageAndKeepsEarlierBatches() throws {
        // Finite weights so large that the forward pass overflows.
        let huge = tmp.appendingPathComponent("huge.safetensors").path
        try SafeTensors.write(ViTWeights.random(serverConfig, seed: 3, std: 1e18).timmTensors(serverConfig),
                              metadata: ["num_heads": "\(serverConfig.numHeads)"], to: huge)
        models[1].weights = huge
        XCTAssertThrowsError(try build("c.h5")) {
            XCTAssertTrue("\($0)".contains("row 0 (\(images.paths[0])): model 'server' gave a non-finite"), "\($0)")
        }
        let cache = try Cache(path: tmp.appendingPathComponent("c.h5").path)
        XCTAssertEqual(try cache.run("server").completed, 0)
    }

    func testImagePinsAreTheFilesSizeAndSHA256() throws {
        let path = try build("c.h5")
        let pins = try Cache(path: path).pins()
        for (file, pin) in zip(images.paths, pins) {
            let data = try Data(contentsOf: URL(fileURLWithPath: file))
            XCTAssertEqual(pin.bytes, Int64(data.count))
            let sum = Process()
            sum.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
            sum.arguments = [file]
            let out = Pipe()
            sum.standardOutput = out
            try sum.run()
            sum.waitUntilExit()
            let hex = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).prefix(64)
            XCTAssertEqual(pin.sha256.map { String(format: "%02x", $0) }.joined(), String(hex), file)
        }
    }

    func testAttributesAndShapesThatDisagreeAreErrorsNamingThem() throws {
        let plain = try build("c.h5")
        for (attribute, value, message) in [("num_classes", Int64(0), "run 'edge': num_classes is 0"),
                                            ("patch_size", 0, "run 'edge': patch_size is 0"),
                                            ("patch_size", 15, "image_size 224 is not a multiple of patch_size 15"),
                                            ("num_heads", 3, "embed_dim 32 is not a multiple of num_heads 3"),
                                            ("num_classes", 11, "dataset logits has shape [10, 10], expected [10, 11]"),
                                            ("prefix_tokens", 0, "prefix_tokens is 0, expected 1...64"),
                                            ("prefix_tokens", 2, "dataset attention/last has shape [10, 2, 197], expected [10, 2, 198]")] {
            let damaged = tmp.appendingPathComponent("damaged-\(attribute)-\(value).h5").path
            try FileManager.default.copyItem(atPath: plain, toPath: damaged)
            let f = try HDF5File.open(damaged, mode: .readWrite)
            try f.openGroup("/runs/edge").setAttribute(attribute, to: value)
            f.close()
            XCTAssertThrowsError(try Evaluator(cache: try Cache(path: damaged)).evaluate(Setting(edge: "edge", server: "server"))) {
                XCTAssertTrue("\($0)".contains(damaged) && "\($0)".contains(message), "\($0)")
                XCTAssertEqual(($0 as? CacheError)?.kind, .corrupt)
            }
        }
    }

    /// A header that still fits its datasets but not the server's weights (the
    /// same P at another image and patch size, another depth) is an error
    /// naming the run when server answers are computed, not a trap in the model.
    func testARunHeaderThatDisagreesWithItsWeightsIsAnError() throws {
        let plain = try build("c.h5")
        for (name, edit) in [("size", { (f: HDF5File) in
                                 try f.setAttribute("image_size", to: Int64(448))
                                 for run in ["edge", "server"] { try f.openGroup("/runs/\(run)").setAttribute("patch_size", to: Int64(32)) }
                             }), ("depth", { (f: HDF5File) in try f.openGroup("/runs/server").setAttribute("depth", to: Int64(5)) })] {
            let damaged = tmp.appendingPathComponent("damaged-\(name).h5").path
            try FileManager.default.copyItem(atPath: plain, toPath: damaged)
            let f = try HDF5File.open(damaged, mode: .readWrite)
            try edit(f)
            f.close()
            XCTAssertThrowsError(try Evaluator(cache: try Cache(path: damaged)).evaluate(Setting(edge: "edge", server: "server", rule: .topK(20), gate: .none))) {
                XCTAssertTrue("\($0)".contains(damaged) && "\($0)".contains("run 'server' records"), "\(name): \($0)")
                XCTAssertEqual(($0 as? CacheError)?.kind, .corrupt)
            }
        }
    }

    func testPrefixTokensAreRecordedAndAbsentMeansOne() throws {
        let path = try build("c.h5")
        XCTAssertEqual(try Cache(path: path).run("edge").prefixTokens, 1)
        let f = try HDF5File.open(path, mode: .readWrite)
        XCTAssertEqual(try f.openGroup("/runs/edge").attribute("prefix_tokens", as: Int64.self), 1)
        try f.openGroup("/runs/edge").removeAttribute("prefix_tokens")  // a cache made before it was recorded
        f.close()
        XCTAssertEqual(try Cache(path: path).run("edge").prefixTokens, 1)
    }

    func testAnUnreadableImageKeepsItsReasonWhenARunIsAdded() throws {
        let bad = tmp.appendingPathComponent("bad.jpg").path
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: bad))
        images = ImageList(paths: images.paths + [bad], labels: images.labels + [0])
        let all = models
        models = [all[0]]
        let path = try build("c.h5")
        let first = try Cache(path: path).unreadable()
        XCTAssertEqual(first.map(\.row), [10])
        XCTAssertTrue(first[0].reason.contains(bad), first[0].reason)
        models = all  // the server added later reads every batch again
        _ = try build("c.h5")
        XCTAssertEqual(try Cache(path: path).unreadable().map(\.reason), first.map(\.reason))
    }

    func testADamagedCropFractionIsAnErrorWhenImagesAreRead() throws {
        let damaged = try build("c.h5")
        for value in [0.0, -1, .nan] {
            let f = try HDF5File.open(damaged, mode: .readWrite)
            try f.setAttribute("crop_pct", to: value)
            f.close()
            XCTAssertThrowsError(try Evaluator(cache: try Cache(path: damaged)).evaluate(Setting(edge: "edge", server: "server", rule: .topK(20), gate: .none))) {
                XCTAssertTrue("\($0)".contains("\(damaged): crop_pct is \(value), expected a positive fraction"), "\($0)")
            }
        }
    }

    /// A cache built from a distilled edge model (class and distillation
    /// tokens, two heads) and a server with register tokens records their
    /// prefix tokens and families; its logits, attention rows and importance
    /// (patch columns after the prefix tokens) are a direct forward pass's,
    /// and its parameter counts the models' own.
    func testCacheOfModelsWithSeveralPrefixTokens() throws {
        let edge = ViTConfig(embedDim: 32, depth: 2, numHeads: 2, numClasses: 10, distilled: true)
        let server = ViTConfig(embedDim: 48, depth: 2, numHeads: 3, numClasses: 10, registerTokens: 4, noEmbedClass: true)
        for (i, (config, seed)) in [(edge, UInt64(11)), (server, 12)].enumerated() {
            try SafeTensors.write(ViTWeights.random(config, seed: seed, std: 0.3).timmTensors(config),
                                  metadata: ["num_heads": "\(config.numHeads)"], to: models[i].weights)
        }
        let cache = try Cache(path: try build("prefix.h5"))
        let pre = Preprocessing()
        let x = Tensor.stack(try images.paths.map { Tensor(shape: [3, 224, 224], scalars: try pre.networkInput(contentsOf: $0)) })
        for (name, config) in [("edge", edge), ("server", server)] {
            let run = try cache.run(name)
            XCTAssertEqual(run.prefixTokens, config.prefixTokens)
            XCTAssertEqual(run.config, config)
            XCTAssertEqual(run.config.parameterCount, config.parameterCount)
            let out = try VisionTransformer(weightsPath: models[name == "edge" ? 0 : 1].weights).forward(x, storeAttention: true)
            assertClose(try cache.logits(name), out.logits.scalars, name + " logits")
            assertClose(try cache.importance(name, measure: .mean),
                        Importance.mean(classAttention: out.classAttention, prefixTokens: config.prefixTokens).scalars, name + " mean")
            assertClose(try cache.importance(name, measure: .rollout),
                        Importance.rollout(attention: out.attention!, prefixTokens: config.prefixTokens).scalars, name + " rollout")
            // head:1 is the last layer's head-1 class row over the patch columns, renormalised.
            let rows = try cache.importance(name, measure: .head(1))
            let t = config.numTokens, l = config.depth, h = config.numHeads
            for i in 0..<images.count {
                let start = ((i * l + l - 1) * h + 1) * t
                let expected = Importance.patchScores(Array(out.classAttention.scalars[start..<(start + t)]), prefixTokens: config.prefixTokens)
                assertClose(Array(rows[(i * config.numPatches)..<((i + 1) * config.numPatches)]), expected, "\(name) head:1 image \(i)")
            }
        }
    }

    func assertClose(_ a: [Float], _ b: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, 1e-5, what, file: file, line: line)
    }

    func testTablesAndBaselinesAreTheEvaluationsTheyStandFor() throws {
        let path = try build("c.h5")
        let e = Evaluator(cache: try Cache(path: path))
        let setting = Setting(edge: "edge", server: "server", rule: .topK(30), gate: .minEntropy(2))
        // Table I: parameters from the shapes (timm's count for DeiT-Tiny/Small/Base), accuracy by hand.
        XCTAssertEqual([ViTConfig.deitTiny, .deitSmall, .deitBase].map(\.parameterCount), [5_717_416, 22_050_664, 86_567_656])
        let summaries = try e.modelSummaries()
        XCTAssertEqual(summaries.map(\.run.name), ["edge", "server"])
        for m in summaries {
            let p = try e.predictions(m.run.name)
            XCTAssertEqual(m.accuracy, Double(images.labels.indices.filter { p[$0] == images.labels[$0] }.count) / Double(images.count))
            XCTAssertEqual(m.parameters, m.run.config.parameterCount)
        }
        // Tables II and III are sweeps of the attention-sum rule with every image sent, and of the gate.
        var sent = setting
        sent.rule = .sum(0.5)
        sent.gate = .none
        XCTAssertEqual(try e.patchTable(setting, deltas: [0.5, 0.9]), [try e.evaluate(sent), try e.evaluate({ var s = sent; s.rule = .sum(0.9); return s }())])
        XCTAssertEqual(try e.transmitTable(setting, etas: [1, 0.2]).map(\.sentFraction),
                       try [1, 0.2].map { eta in try e.evaluate({ var s = setting; s.gate = .minEntropy(eta); return s }()).sentFraction })
        // Latency at each rate, without touching the evaluator's own model.
        let before = e.latency
        let points = try e.latencyBreakdown(setting, uplinks: [1, 20])
        XCTAssertEqual(e.latency, before)
        for p in points {
            var model = before
            model.uplinkMbps = p.uplinkMbps
            XCTAssertEqual(p.evaluation, try e.evaluate(setting, latency: model))
            XCTAssertEqual(p.fullImageMs, Double(224 * 224 * 3) * 8 / (p.uplinkMbps * 1e6) * 1e3 + model.serverMs, accuracy: 1e-9)
        }
    }

    func testANonFiniteStoredValueIsAnErrorNamingTheDatasetAndRow() throws {
        let plain = try build("c.h5")
        for (dataset, measure, value) in [("logits", ImportanceMeasure.mean, Float.nan), ("importance/rollout", .rollout, .infinity),
                                          ("attention/last", .head(1), -.infinity)] {
            let damaged = tmp.appendingPathComponent("nonfinite-\(dataset.split(separator: "/")[0]).h5").path
            try FileManager.default.copyItem(atPath: plain, toPath: damaged)
            let f = try HDF5File.open(damaged, mode: .readWrite)
            let d = try f.openDataset("/runs/edge/\(dataset)")
            let shape = try d.shape
            try d.write([value], start: [3] + shape.dropFirst().map { $0 - 1 }, count: shape.map { _ in 1 })
            f.close()
            XCTAssertThrowsError(try Evaluator(cache: try Cache(path: damaged)).evaluate(Setting(edge: "edge", server: "server", measure: measure))) {
                XCTAssertTrue("\($0)".contains("\(damaged): run 'edge': \(dataset) of row 3 holds \(value)"), "\($0)")
            }
        }
    }

    /// The memo's top-5 companion: filled with each entry (rank 0 the memo's
    /// class), computed again where a cache filled before it lacks it, and
    /// concatenated by a merge of shards as an unsharded fill stores it.
    func testTheMemoStoresTheServersTopFive() throws {
        let setting = Setting(edge: "edge", server: "server", rule: .topK(20), gate: .none)
        let key = MemoTable.key(server: "server", ordering: setting.ordering)
        func tables(_ path: String) throws -> ([Int16], [Int16]) {
            let cache = try Cache(path: path)
            return (try MemoTable.stored(key, in: cache), try cache.file.openDataset(MemoTable.top5Key(key)).read(as: Int16.self).values)
        }
        let path = try build("c.h5")
        let first = try Evaluator(cache: try Cache(path: path)).evaluate(setting)
        let (top1, top5) = try tables(path)
        XCTAssertEqual(top5.count, 10 * 197 * 5)
        for i in 0..<10 {
            let j = i * 197 + 20
            XCTAssertEqual(top5[j * 5], top1[j])
            XCTAssertEqual(Set(top5[(j * 5)..<(j * 5 + 5)]).count, 5, "five different classes")
        }
        // A cache filled before the top 5 were stored: its entries are computed again, to the same answers.
        let f = try HDF5File.open(path, mode: .readWrite)
        try f.remove(CacheLayout.memoTop5)
        f.close()
        let again = Evaluator(cache: try Cache(path: path))
        var computed = 0
        again.progress = { done, _ in computed = done }
        XCTAssertEqual(try again.evaluate(setting), first)
        XCTAssertEqual(computed, 10)
        XCTAssertEqual(try tables(path).1, top5)

        let shards = try (0..<2).map { i in try build("shard\(i).h5") { $0.images = self.images.shard(i, of: 2, alignment: 4); $0.shard = (i, 2) } }
        for shard in shards { _ = try Evaluator(cache: try Cache(path: shard)).evaluate(setting) }
        let merged = tmp.appendingPathComponent("merged.h5").path
        try Cache.merge(shards: shards, into: merged)
        XCTAssertTrue(try tables(merged) == (top1, top5))
    }

    /// `plan` says, without running a model, which server answers a sweep
    /// will compute: as many as the sweep then computes, with eq. 9's FLOPs,
    /// and none once they are stored; the plan reads back from its JSON.
    func testAPlanListsTheAnswersASweepComputes() throws {
        let e = Evaluator(cache: try Cache(path: try build("c.h5")))
        let setting = Setting(edge: "edge", server: "server", rule: .sum(0.6), gate: .minEntropy(2.0))
        let (rules, gates) = ([0.3, 0.6, 0.9], [1.0, 2.0, 3.0])
        let plan = try e.plan(setting, ruleParameters: rules, gateThresholds: gates)
        XCTAssertGreaterThan(plan.missing, 0)
        XCTAssertLessThanOrEqual(plan.missing, plan.needed)
        XCTAssertEqual(Set(zip(plan.images, plan.ks).map { "\($0) \($1)" }).count, plan.missing, "distinct (image, k)")
        let config = try e.cache.run("server").config
        XCTAssertEqual(plan.flops, plan.ks.map { config.encoderFLOPs(tokens: config.prefixTokens + $0) }.reduce(0, +), accuracy: 1)
        var computed = 0
        e.progress = { _, total in computed = total }
        _ = try e.sweep(setting, ruleParameters: rules, gateThresholds: gates)
        XCTAssertEqual(computed, plan.missing, "the sweep computes what was planned")
        let after = try e.plan(setting, ruleParameters: rules, gateThresholds: gates)
        XCTAssertEqual(after.missing, 0)
        XCTAssertEqual(after.needed, plan.needed)
        XCTAssertEqual(try JSONDecoder().decode(MemoPlan.self, from: try JSONEncoder().encode(plan)), plan)
        XCTAssertGreaterThan(try e.secondsPerFLOP(server: "server", images: 1), 0)
    }

    /// A plan filled in 3 shards (whole images each, balanced by FLOPs) and
    /// merged gives the cache the same memo tables as the plan's sweep in one
    /// process; an interrupted shard resumes; incomplete, missing, doubled or
    /// foreign shards are refused.
    func testAPlanFilledInShardsEqualsOneFill() throws {
        let setting = Setting(edge: "edge", server: "server", rule: .sum(0.6), gate: .minEntropy(2.0))
        let (rules, gates) = ([0.3, 0.6, 0.9], [0.0, 2.0])
        let whole = try build("whole.h5"), sharded = try build("sharded.h5")
        let one = Evaluator(cache: try Cache(path: whole))
        _ = try one.sweep(setting, ruleParameters: rules, gateThresholds: gates)
        let e = Evaluator(cache: try Cache(path: sharded))
        let plan = try e.plan(setting, ruleParameters: rules, gateThresholds: gates)
        XCTAssertGreaterThan(plan.missing, 6)
        let config = try e.cache.run("server").config
        let flops = { (k: Int) in config.encoderFLOPs(tokens: config.prefixTokens + k) }
        let parts = (0..<3).map { plan.shard($0, of: 3, flops: flops) }
        // Every planned answer in exactly one shard, each image in one shard.
        XCTAssertEqual(parts.flatMap { $0.map { "\($0.image) \($0.k)" } }.sorted(), zip(plan.images, plan.ks).map { "\($0) \($1)" }.sorted())
        XCTAssertEqual(Set(parts.flatMap { Set($0.map(\.image)) }).count, parts.map { Set($0.map(\.image)).count }.reduce(0, +))
        // Balanced: no shard exceeds the mean by more than the costliest image.
        let perImage = Dictionary(grouping: zip(plan.images, plan.ks), by: \.0).mapValues { $0.reduce(0) { $0 + flops($1.1) } }
        let loads = parts.map { $0.reduce(0) { $0 + flops($1.k) } }
        XCTAssertLessThanOrEqual(loads.max()!, plan.flops / 3 + perImage.values.max()! + 1)
        XCTAssertEqual(loads.reduce(0, +), plan.flops, accuracy: 1)

        let files = (0..<3).map { tmp.appendingPathComponent("memo\($0).h5").path }
        for (i, f) in files.enumerated() where i != 1 { try e.fill(plan: plan, shard: i, of: 3, into: f) }
        // Shard 1 stops after its first image (as SIGTERM would), then resumes.
        e.checkpointInterval = 0
        e.imagesPerChunk = 1
        var stopped = false
        e.progress = { done, _ in if done > 0 && !stopped { stopped = true; Interruption.received(SIGTERM) } }
        XCTAssertThrowsError(try e.fill(plan: plan, shard: 1, of: 3, into: files[1])) { XCTAssertTrue($0 is Interrupted, "\($0)") }
        Interruption.reset()
        XCTAssertThrowsError(try Cache.mergeMemoShards(files, into: sharded)) { XCTAssertTrue("\($0)".contains("incomplete"), "\($0)") }
        var resumed = 0
        e.progress = { _, total in resumed = total }
        try e.fill(plan: plan, shard: 1, of: 3, into: files[1])
        XCTAssertLessThan(resumed, parts[1].count, "the resumed shard computes only what it lacked")

        XCTAssertThrowsError(try Cache.mergeMemoShards([files[0], files[2]], into: sharded)) { XCTAssertTrue("\($0)".contains("missing memo shard(s) 1 of 3"), "\($0)") }
        XCTAssertThrowsError(try Cache.mergeMemoShards([files[0], files[0], files[1], files[2]], into: sharded)) { XCTAssertTrue("\($0)".contains("given twice"), "\($0)") }
        XCTAssertThrowsError(try e.fill(plan: plan, shard: 2, of: 4, into: files[2])) { XCTAssertTrue("\($0)".contains("another plan"), "\($0)") }
        XCTAssertGreaterThanOrEqual(try Cache.mergeMemoShards(files.reversed(), into: sharded), plan.missing)
        let key = MemoTable.key(server: "server", ordering: setting.ordering)
        for table in [key, MemoTable.top5Key(key)] {
            let a = try Cache(path: whole).file.openDataset(table).read(as: Int16.self).values
            let b = try Cache(path: sharded).file.openDataset(table).read(as: Int16.self).values
            XCTAssertEqual(a, b, table)
        }
        let after = Evaluator(cache: try Cache(path: sharded))
        XCTAssertEqual(try after.plan(setting, ruleParameters: rules, gateThresholds: gates).missing, 0)
        XCTAssertEqual(try after.sweep(setting, ruleParameters: rules, gateThresholds: gates),
                       try one.sweep(setting, ruleParameters: rules, gateThresholds: gates))
        XCTAssertThrowsError(try e.fill(plan: plan, shard: 0, of: 1, into: sharded)) { XCTAssertTrue("\($0)".contains("the cache itself"), "\($0)") }
        var damaged = plan
        damaged.ks[0] = config.numPatches + 1  // more patches than the server has
        XCTAssertThrowsError(try e.fill(plan: damaged, shard: 0, of: 1, into: tmp.appendingPathComponent("d.h5").path)) {
            XCTAssertTrue("\($0)".contains("on \(config.numPatches + 1) patches"), "\($0)")
        }
        XCTAssertEqual(try Cache.mergeMemoShards(files, into: whole), 0, "a cache that holds every answer gains none")
        let other = try build("other.h5") { $0.images = self.images.limited(to: 3) }
        XCTAssertThrowsError(try Cache.mergeMemoShards(files, into: other)) { XCTAssertTrue("\($0)".contains("not the cache"), "\($0)") }
    }

    func testAMemoTableOfTheWrongShapeIsAnErrorNamingIt() throws {
        let path = try build("c.h5")
        let f = try HDF5File.open(path, mode: .readWrite)
        try f.createDataset("/memo/server/edge:mean", values: [Int16](repeating: -1, count: 7))
        f.close()
        let cache = try Cache(path: path)
        for attempt in [{ _ = try CacheInfo(cache) }, { _ = try Evaluator(cache: cache).evaluate(Setting(edge: "edge", server: "server")) }] {
            XCTAssertThrowsError(try attempt()) { XCTAssertTrue("\($0)".contains("memo table /memo/server/edge:mean"), "\($0)") }
        }
    }

    func testMoreClassesThanTheMemoHoldsAreRefusedAtBuild() throws {
        let wide = ViTConfig(embedDim: 16, depth: 1, numHeads: 1, numClasses: 40_000)
        let path = tmp.appendingPathComponent("wide.safetensors").path
        try SafeTensors.write(ViTWeights.random(wide, seed: 4).timmTensors(wide), metadata: ["num_heads": "1"], to: path)
        models[1].weights = path
        XCTAssertThrowsError(try build("c.h5")) {
            XCTAssertTrue("\($0)".contains("model 'server' has 40000 classes; the cache's memo stores a class as int16"), "\($0)")
        }
    }
}

final class BatchedKeepTests: XCTestCase {
    /// The batched k of every rule equals the single-image `keep(sorted:)` on random scores.
    func testBatchedKeepEqualsPerImageKeep() {
        var rng = SplitMix64(seed: 7)
        let n = 50, p = 16
        let scores = (0..<n).flatMap { _ -> [Float] in
            let raw = (0..<p).map { _ in Float(rng.next() % 1000) / 1000 }
            let total = raw.reduce(0, +)
            return raw.map { $0 / total }
        }
        let sorted = SortedScores(scores: scores, images: n, patches: p)
        let rules: [SelectionRule] = [.sum(0.5), .sum(0.2), .sum(0.5), .sum(1), .sum(0), .threshold(0.05), .threshold(0.1),
                                      .threshold(0), .threshold(1), .topK(3), .topK(40), .randomK(5)]
        let batched = sorted.keep(rules)
        for (r, rule) in rules.enumerated() {
            for i in 0..<n {
                XCTAssertEqual(Int(batched[r][i]), rule.keep(sorted: sorted.scores[(i * p)..<((i + 1) * p)]), "\(rule), image \(i)")
            }
        }
    }
}
