import Attention
import Entropy
import Foundation
import Imaging
import Safety
import Tensors
import ViT
import Wire
import XCTest
@testable import Collaborative

/// Coded sizes in the cache (`cache build --codec`) and bytes in evaluations,
/// against direct computations on the crops.
extension CacheTests {
    var codecs: [Codec] { [.jpeg(quality: 50), .fullJPEG(quality: 75)] }

    func testCodedSizesAreTheCropsMeasurements() throws {
        let cache = try Cache(path: try build("c.h5") { $0.codecs = self.codecs + [.raw] })
        XCTAssertEqual(try cache.codecs(), codecs.sorted { "\($0)" < "\($1)" })
        let grid = PatchGrid(patchSize: 16, columns: 14, rows: 14)
        let jpeg = try cache.codedSizes(.jpeg(quality: 50)), full = try cache.codedSizes(.fullJPEG(quality: 75))
        for (i, file) in images.paths.enumerated() {
            let crop = try Preprocessing().croppedImage(contentsOf: file)
            XCTAssertEqual(jpeg.jpegPatchBytes(row: i), try CodedSizes.jpegPatchBytes(of: crop, grid: grid, quality: 50), file)
            XCTAssertEqual(full.fullFrameBytes(row: i), 30 + (try crop.jpegData(quality: 75)).count, file)
        }
        XCTAssertThrowsError(try cache.codedSizes(.raw)) { XCTAssertTrue("\($0)".contains("counted exactly"), "\($0)") }
        let info = try CacheInfo(cache)
        XCTAssertEqual(info.codecs.map(\.completed), [10, 10])
        XCTAssertTrue(info.problems.isEmpty, "\(info.problems)")
    }

    /// bytes_per_image with each codec equals the mean over images of the
    /// frames Algorithm 1 sends, counted directly; jpeg:Q's estimate is
    /// within 6 % of really encoding those frames.
    func testBytesPerImageCountTheFramesSent() throws {
        let path = try build("c.h5") { $0.codecs = self.codecs }
        let evaluator = Evaluator(cache: try Cache(path: path))
        let importance = try evaluator.cache.importance("edge", measure: .mean)
        let logits = try evaluator.cache.logits("edge")
        let grid = PatchGrid(patchSize: 16, columns: 14, rows: 14)
        let jpeg = try evaluator.cache.codedSizes(.jpeg(quality: 50))
        for (rule, gate) in [(SelectionRule.sum(0.6), Gate.minEntropy(2.0)), (.topK(5), .none), (.sum(0.95), .none)] {
            var paper = 0.0, raw = 0, estimated = 0, encoded = 0
            for (i, file) in images.paths.enumerated() {
                let scores = Array(importance[(i * 196)..<((i + 1) * 196)])
                let p = Uncertainty.probabilities(Array(logits[(i * 10)..<((i + 1) * 10)])[...])
                guard gate.sends(p) else { continue }
                let order = Ordering.byScore(scores[...])
                let k = rule.keep(sorted: order.map { scores[$0] }[...])
                let kept = Array(order.prefix(k)).sorted()
                paper += Double(k * 768) + 196.0 / 8
                raw += 30 + WireImage.indexEncoding(kept: k, of: 196).bytes + k * 768
                estimated += CodedSizes.frameBytes(kept: k, of: grid, payload: jpeg.jpegPatchBytes(row: i).estimate(kept))
                let crop = try Preprocessing().croppedImage(contentsOf: file)
                encoded += try PatchCoding.encode(crop, grid: grid, indices: kept, codec: .jpeg(quality: 50), imageID: UInt64(i)).byteCount
            }
            var setting = Setting(edge: "edge", server: "server", rule: rule, gate: gate)
            XCTAssertEqual(try evaluator.evaluate(setting).bytesPerImage, paper / 10, accuracy: 1e-9, "\(rule) \(gate)")
            setting.codec = .raw
            let r = try evaluator.evaluate(setting)
            XCTAssertEqual(r.bytesPerImage, Double(raw) / 10, accuracy: 1e-9, "\(rule) \(gate)")
            XCTAssertEqual(r.uplinkMs, Double(raw) / 10 * 8 / 8e6 * 1e3, accuracy: 1e-9, "the latency model counts the frame's bytes")
            setting.codec = .jpeg(quality: 50)
            let j = try evaluator.evaluate(setting)
            XCTAssertEqual(j.bytesPerImage, Double(estimated) / 10, accuracy: 1e-9, "\(rule) \(gate)")
            let real = Double(encoded) / 10
            XCTAssertEqual(j.bytesPerImage, real, accuracy: 0.06 * real + 1, "\(rule) \(gate)")
            XCTAssertEqual(r.accuracy, try evaluator.evaluate(Setting(edge: "edge", server: "server", rule: rule, gate: gate)).accuracy,
                           "raw frames carry the clean patches")
        }
        var setting = Setting(edge: "edge", server: "server")
        setting.codec = .jpeg(quality: 90)
        XCTAssertThrowsError(try evaluator.evaluate(setting)) { XCTAssertTrue("\($0)".contains("cache build --codec jpeg:90"), "\($0)") }
        setting.codec = .fullJPEG(quality: 75)
        XCTAssertThrowsError(try evaluator.evaluate(setting)) { XCTAssertTrue("\($0)".contains("sends the whole image"), "\($0)") }
    }

    func testCodedSizesResumeAddAndMergeLikeRuns() throws {
        models.removeLast()  // the edge alone: the codecs' rows are what is checked
        let plain = try contents(try build("plain.h5") { $0.codecs = self.codecs })
        // Interrupted, then resumed.
        let resumed = try build("resumed.h5") { $0.codecs = self.codecs; $0.stopAfterRows = 5 }
        XCTAssertEqual(try Cache(path: resumed).codedSizes(.jpeg(quality: 50)).completed, 8)
        _ = try build("resumed.h5") { $0.codecs = self.codecs }
        assertSameContents(try contents(resumed), plain)
        // Added to a cache built without them.
        let added = try build("added.h5")
        _ = try build("added.h5") { $0.codecs = self.codecs }
        assertSameContents(try contents(added), plain)
        // Sharded and merged.
        let shards = try (0..<3).map { i in try build("shard\(i).h5") { $0.codecs = self.codecs; $0.images = self.images.shard(i, of: 3, alignment: 4); $0.shard = (i, 3) } }
        let merged = tmp.appendingPathComponent("merged.h5").path
        try Cache.merge(shards: shards, into: merged)
        assertSameContents(try contents(merged), plain)
        // Runs of differing patch sizes cannot share a grid.
        let config = ViTConfig(patchSize: 32, embedDim: 32, depth: 1, numHeads: 2, numClasses: 10)
        let weights = tmp.appendingPathComponent("p32.safetensors").path
        try SafeTensors.write(ViTWeights.random(config, seed: 3, std: 0.3).timmTensors(config), metadata: ["num_heads": "2"], to: weights)
        models.append(ModelSpec(name: "p32", arch: "auto", weights: weights))
        XCTAssertThrowsError(try build("bad.h5") { $0.codecs = [.jpeg(quality: 50)] }) {
            XCTAssertTrue("\($0)".contains("--codec needs every run to have the same patch size; they have 16 px, 32 px"), "\($0)")
        }
    }

    /// Under jpeg:Q the server answers on the patches as a receiver decodes
    /// the real frame: per image, the memo's class equals the server run on
    /// the kept patches of an encoded and decoded mosaic.
    func testAnswersUnderJPEGAreTheServersOnDecodedFrames() throws {
        let path = try build("c.h5") { $0.codecs = [.jpeg(quality: 20)] }
        let evaluator = Evaluator(cache: try Cache(path: path))
        let server = try VisionTransformer(weightsPath: models[1].weights)
        let importance = try evaluator.cache.importance("edge", measure: .mean)
        let grid = PatchGrid(patchSize: 16, columns: 14, rows: 14)
        var setting = Setting(edge: "edge", server: "server", rule: .sum(0.6), gate: .none)
        setting.codec = .jpeg(quality: 20)
        let lossy = try evaluator.evaluate(setting)
        var differ = 0, correct = 0
        for (i, file) in images.paths.enumerated() {
            let scores = Array(importance[(i * 196)..<((i + 1) * 196)])
            let order = Ordering.byScore(scores[...])
            let k = setting.rule.keep(sorted: order.map { scores[$0] }[...])
            let crop = try Preprocessing().croppedImage(contentsOf: file)
            let frame = try WireImage(decoding: PatchCoding.encode(crop, grid: grid, indices: Array(order.prefix(k)).sorted(), codec: .jpeg(quality: 20), imageID: 0).encoded())
            let x = Tensor(shape: [1, 3, 224, 224], scalars: Preprocessing().networkInput(cropped: try PatchCoding.receivedCrop(frame)))
            let logits = server.forward(x, keep: [Array(order.prefix(k))]).logits.scalars
            let answer = logits.indices.max { logits[$0] < logits[$1] }!
            XCTAssertEqual(try evaluator.serverTopFive(setting, image: i).first, answer, file)
            if answer == Int(images.labels[i]) { correct += 1 }
            var clean = setting
            clean.codec = nil
            if try evaluator.serverTopFive(clean, image: i).first != answer { differ += 1 }
        }
        XCTAssertEqual(lossy.accuracy, Double(correct) / 10)
        XCTAssertTrue(try evaluator.cache.file.contains("/memo/server/edge:mean@jpeg:20"))
        XCTAssertGreaterThan(differ, 0, "quality 20 changes some answer (1 of 10 with these weights)")
    }

    /// The whole-image JPEG baseline: a run on crops coded at quality Q and
    /// decoded; as the server it answers every sent image whole, and its bytes
    /// are the JPEG frames, recorded as full-jpeg:Q by the build itself.
    func testAWholeImageJPEGRunIsABaselineCountedInJPEGBytes() throws {
        models.append(ModelSpec(name: "server_jpeg20", arch: "auto", weights: models[1].weights))
        models[2].jpegQuality = 20
        XCTAssertEqual(ModelSpec(parsing: "a=auto:w.safetensors@jpeg:20"), models[2].renamed("a", weights: "w.safetensors"))
        XCTAssertNil(ModelSpec(parsing: "a=auto:w.safetensors@jpeg:0"))
        let path = try build("c.h5")
        let evaluator = Evaluator(cache: try Cache(path: path))
        let run = try evaluator.cache.run("server_jpeg20")
        XCTAssertEqual(run.jpegQuality, 20)
        XCTAssertEqual(try evaluator.cache.runRoles()[.jpegBaseline], "server_jpeg20")
        XCTAssertEqual(try evaluator.cache.runRoles()[.server], "server")
        XCTAssertEqual(try evaluator.cache.codecs(), [.fullJPEG(quality: 20)])
        let server = try VisionTransformer(weightsPath: models[1].weights)
        let logits = try evaluator.cache.logits("server_jpeg20")
        var jpeg = Preprocessing()
        jpeg.jpegQuality = 20
        var bytes = 0, correct = 0
        for (i, file) in images.paths.enumerated() {
            let crop = try Preprocessing().croppedImage(contentsOf: file)
            let coded = try crop.jpegData(quality: 20)
            let x = Tensor(shape: [1, 3, 224, 224], scalars: Preprocessing().networkInput(cropped: try RGBImage(decoding: coded, file: file)))
            XCTAssertEqual(jpeg.networkInput(cropped: crop), x.scalars, file)
            let direct = server.forward(x).logits.scalars
            let stored = Array(logits[(i * 10)..<((i + 1) * 10)])
            for (a, b) in zip(stored, direct) { XCTAssertEqual(a, b, accuracy: 1e-4, file) }
            let answer = stored.indices.max { stored[$0] < stored[$1] }!
            if answer == Int(images.labels[i]) { correct += 1 }
            bytes += 30 + coded.count
        }
        let r = try evaluator.jpegBaselines(Setting(edge: "edge", server: "server", gate: .none))
        XCTAssertEqual(r.map(\.run.name), ["server_jpeg20"])
        XCTAssertEqual(r[0].evaluation.bytesPerImage, Double(bytes) / 10, accuracy: 1e-9)
        XCTAssertEqual(r[0].evaluation.accuracy, Double(correct) / 10)
        XCTAssertEqual(r[0].evaluation.commCost, Double(bytes - 300) / 10 / Double(224 * 224 * 3), accuracy: 1e-12)
        XCTAssertTrue(try evaluator.lowResolutionBaselines(Setting(edge: "edge", server: "server")).isEmpty)
    }
}

extension ModelSpec {
    fileprivate func renamed(_ name: String, weights: String) -> ModelSpec {
        var m = self
        m.name = name
        m.weights = weights
        m.role = nil
        return m
    }
}
