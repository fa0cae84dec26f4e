import Foundation
import Tensors
import XCTest
@testable import ViT

/// Loading weights: both key layouts, half-precision files, and clear errors
/// for missing tensors, wrong shapes and truncated or corrupt files.
final class WeightLoadingTests: XCTestCase {
    let fixture = VitFixture.all[0]  // tiny3
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-weights-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        // The head count travels in config.json beside the weights, as on Hugging Face.
        try FileManager.default.copyItem(atPath: fixture.path("config.json"), toPath: tmp.appendingPathComponent("config.json").path)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func testConfigIsReadOffTheTensors() throws {
        let (c, _) = try ViTWeights.load(path: fixture.path("model.safetensors"))
        XCTAssertEqual(c, ViTConfig(imageSize: 32, patchSize: 8, embedDim: 48, depth: 3, numHeads: 3, numClasses: 10))
    }

    func testConfigOfTheNewFamilies() throws {
        let (d, dw) = try ViTWeights.load(path: VitFixture.distilled.path("model.safetensors"))
        XCTAssertEqual(d, ViTConfig(imageSize: 32, patchSize: 8, embedDim: 32, depth: 2, numHeads: 2, numClasses: 6, distilled: true))
        XCTAssertEqual(dw.distToken?.count, 32)
        XCTAssertEqual(dw.headDist?.outFeatures, 6)
        let (r, rw) = try ViTWeights.load(path: VitFixture.registers.path("model.safetensors"))
        XCTAssertEqual(r, ViTConfig(imageSize: 32, patchSize: 8, embedDim: 32, depth: 2, numHeads: 2, numClasses: 5,
                                    registerTokens: 4, noEmbedClass: true))
        XCTAssertEqual(rw.posEmbed.count, 16 * 32, "position embedding for the 16 patches only")
        XCTAssertEqual(rw.regToken?.count, 4 * 32)
    }

    /// timm's tensors written back by `timmTensors` load as the same model, for each family.
    func testTimmTensorsRoundTrip() throws {
        for c in [ViTConfig(imageSize: 32, patchSize: 8, embedDim: 32, depth: 2, numHeads: 2, numClasses: 6, distilled: true),
                  ViTConfig(imageSize: 32, patchSize: 8, embedDim: 32, depth: 2, numHeads: 2, numClasses: 5, registerTokens: 3, noEmbedClass: true),
                  ViTConfig(imageSize: 32, patchSize: 8, embedDim: 32, depth: 2, numHeads: 2, numClasses: 5, registerTokens: 2)] {
            let w = ViTWeights.random(c, seed: 9, std: 0.3)
            let path = tmp.appendingPathComponent("round-trip.safetensors").path
            try SafeTensors.write(w.timmTensors(c), metadata: ["num_heads": "2"], to: path)
            let loaded = try VisionTransformer(weightsPath: path)
            XCTAssertEqual(loaded.config, c)
            let x = try VitFixture.distilled.tensor("inputs.npy")
            XCTAssertEqual(loaded.forward(x).logits, VisionTransformer(config: c, weights: w).forward(x).logits)
        }
    }

    func testHuggingFaceLayoutGivesTheSameModel() throws {
        for f in VitFixture.withTransformersLayout {
            let timm = try VisionTransformer(weightsPath: f.path("model.safetensors"))
            let hf = try VisionTransformer(weightsPath: f.path("model_hf.safetensors"))
            XCTAssertEqual(hf.config, timm.config, f.name)
            let x = try f.tensor("inputs.npy")
            XCTAssertEqual(hf.forward(x).logits, timm.forward(x).logits, "\(f.name): HF layout must load identical weights")
        }
    }

    func testHalfPrecisionFiles() throws {
        let full = try SafeTensors(path: fixture.path("model.safetensors"))
        for (file, relative) in [("model_f16.safetensors", Float(1) / 2048), ("model_bf16.safetensors", Float(1) / 256)] {
            let half = try SafeTensors(path: fixture.path(file))
            XCTAssertEqual(half.names, full.names)
            for name in full.names {
                let a = full.tensor(name)!, b = half.tensor(name)!
                XCTAssertEqual(a.shape, b.shape)
                for i in 0..<a.count {
                    XCTAssertLessThanOrEqual(abs(a.scalars[i] - b.scalars[i]), relative * abs(a.scalars[i]) + 1e-7, "\(file) \(name)[\(i)]")
                }
            }
            let model = try VisionTransformer(weightsPath: fixture.path(file))
            XCTAssertEqual(model.forward(try fixture.tensor("inputs.npy")).logits.shape, [3, 10])
        }
    }

    func testHalfConversionIsExact() {
        XCTAssertEqual(halfToFloat(0x3C00), 1)
        XCTAssertEqual(halfToFloat(0xC000), -2)
        XCTAssertEqual(halfToFloat(0x0001), 0x1p-24)
        XCTAssertEqual(halfToFloat(0x7BFF), 65504)
        XCTAssertEqual(halfToFloat(0x7C00), .infinity)
        XCTAssertEqual(bfloat16ToFloat(0x3F80), 1)
        XCTAssertEqual(bfloat16ToFloat(0xC0A0), -5)
    }

    /// Writes the fixture's tensors, changed by `edit`, to a temporary file.
    func rewritten(_ edit: (inout [String: Tensor]) -> Void) throws -> String {
        let file = try SafeTensors(path: fixture.path("model.safetensors"))
        var tensors: [String: Tensor] = [:]
        for n in file.names { tensors[n] = file.tensor(n) }
        edit(&tensors)
        let path = tmp.appendingPathComponent("edited.safetensors").path
        try SafeTensors.write(tensors, to: path)
        return path
    }

    func assertLoadFails(_ path: String, mentioning words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try VisionTransformer(weightsPath: path), file: file, line: line) { error in
            let message = "\(error)"
            XCTAssertFalse(message.contains("\n"), "one line: \(message)", file: file, line: line)
            XCTAssertTrue(message.hasPrefix(path), "names the file: \(message)", file: file, line: line)
            for w in words { XCTAssertTrue(message.contains(w), "'\(message)' should mention '\(w)'", file: file, line: line) }
        }
    }

    func testWrittenCopyLoads() throws {
        let model = try VisionTransformer(weightsPath: try rewritten { _ in })
        let x = try fixture.tensor("inputs.npy")
        XCTAssertEqual(model.forward(x).logits, try VisionTransformer(weightsPath: fixture.path("model.safetensors")).forward(x).logits)
    }

    func testMissingTensor() throws {
        assertLoadFails(try rewritten { $0["blocks.1.mlp.fc2.bias"] = nil }, mentioning: ["missing", "blocks.1.mlp.fc2.bias"])
    }

    func testWrongShape() throws {
        assertLoadFails(try rewritten { $0["blocks.2.attn.proj.weight"] = Tensor(zeros: [48, 47]) },
                        mentioning: ["blocks.2.attn.proj.weight", "[48, 47]", "[48, 48]"])
    }

    func testUnexpectedTensor() throws {
        assertLoadFails(try rewritten { $0["blocks.0.attn.extra"] = Tensor(zeros: [2]) }, mentioning: ["unexpected", "blocks.0.attn.extra"])
    }

    func testNonFiniteWeightsAreRefusedByName() throws {
        assertLoadFails(try rewritten { $0["blocks.1.mlp.fc2.weight"]!.scalars[7] = .nan },
                        mentioning: ["blocks.1.mlp.fc2.weight", "non-finite", "1 non-finite value(s) of 9216", "nan at flat index 7"])
        assertLoadFails(try rewritten { $0["pos_embed"]!.scalars[3] = -.infinity; $0["pos_embed"]!.scalars[9] = .infinity },
                        mentioning: ["'pos_embed'", "2 non-finite value(s)", "-inf at flat index 3"])
        // The transformers layout is checked under the file's own names, before renaming.
        let hf = try SafeTensors(path: fixture.path("model_hf.safetensors"))
        var tensors: [String: Tensor] = [:]
        for n in hf.names { tensors[n] = hf.tensor(n) }
        let query = try XCTUnwrap(hf.names.first { $0.hasSuffix("layer.2.attention.attention.query.bias") })
        tensors[query]!.scalars[0] = .infinity
        let path = tmp.appendingPathComponent("hf.safetensors").path
        try SafeTensors.write(tensors, to: path)
        assertLoadFails(path, mentioning: ["'\(query)'", "inf at flat index 0"])
    }

    /// A distilled model's tensors in the wrong company: each refused in one line naming the file and the tensor.
    func testInconsistentDistilledFiles() throws {
        let f = VitFixture.distilled
        let file = try SafeTensors(path: f.path("model.safetensors"))
        func edited(_ edit: (inout [String: Tensor]) -> Void) throws -> String {
            var tensors: [String: Tensor] = [:]
            for n in file.names { tensors[n] = file.tensor(n) }
            edit(&tensors)
            let path = tmp.appendingPathComponent("distilled-\(UUID().uuidString).safetensors").path
            try SafeTensors.write(tensors, metadata: ["num_heads": "2"], to: path)
            return path
        }
        assertLoadFails(try edited { $0["dist_token"] = nil }, mentioning: ["'head_dist.", "without 'dist_token'"])
        assertLoadFails(try edited { $0["head_dist.weight"] = nil; $0["head_dist.bias"] = nil },
                        mentioning: ["missing tensor(s)", "head_dist.weight", "head_dist.bias"])
        assertLoadFails(try edited { $0["dist_token"] = Tensor(zeros: [1, 2, 32]) }, mentioning: ["'dist_token'", "[1, 2, 32]", "[1, 1, 32]"])
        assertLoadFails(try edited { $0["pos_embed"] = Tensor(zeros: [1, 17, 32]) }, mentioning: ["pos_embed", "15 patches"])
        assertLoadFails(try edited { $0["reg_token"] = Tensor(zeros: [1, 4, 32]) }, mentioning: ["'dist_token' and 'reg_token'"])
        assertLoadFails(try edited { $0["cls_token"] = Tensor(zeros: [1, 2, 32]) }, mentioning: ["'cls_token'", "[1, 2, 32]", "dist_token"])
        // A plain architecture refuses a distilled file, and the other way round.
        var plain = try ViTWeights.load(path: f.path("model.safetensors")).0
        plain.distilled = false
        XCTAssertThrowsError(try VisionTransformer(weightsPath: f.path("model.safetensors"), expected: plain)) { error in
            XCTAssertTrue("\(error)".contains("distillation tokens 1 (expected 0)"), "\(error)")
        }
        // The transformers layout: the teacher's classifiers are the two heads.
        let hf = try SafeTensors(path: f.path("model_hf.safetensors"))
        XCTAssertTrue(hf.names.contains("deit.embeddings.distillation_token") && hf.names.contains("distillation_classifier.weight"))
        var tensors: [String: Tensor] = [:]
        for n in hf.names where n != "distillation_classifier.bias" { tensors[n] = hf.tensor(n) }
        let path = tmp.appendingPathComponent("hf-distilled.safetensors").path
        try SafeTensors.write(tensors, metadata: ["num_heads": "2"], to: path)
        assertLoadFails(path, mentioning: ["missing tensor(s): head_dist.bias"])
    }

    func testArchitectureMismatch() throws {
        XCTAssertThrowsError(try VisionTransformer(weightsPath: fixture.path("model.safetensors"), expected: .deitTiny)) { error in
            XCTAssertTrue("\(error)".contains("embed dim 48 (expected 192)"), "\(error)")
        }
    }

    func testTruncatedFile() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture.path("model.safetensors")))
        let path = tmp.appendingPathComponent("truncated.safetensors").path
        FileManager.default.createFile(atPath: path, contents: data.prefix(data.count - 100))
        assertLoadFails(path, mentioning: ["truncated", "byte"])
        FileManager.default.createFile(atPath: path, contents: data.prefix(5))
        assertLoadFails(path, mentioning: ["truncated"])
        FileManager.default.createFile(atPath: path, contents: data.prefix(200))
        assertLoadFails(path, mentioning: ["header length"])
    }

    func testCorruptHeader() throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: fixture.path("model.safetensors")))
        data[10] = 0xFF
        let path = tmp.appendingPathComponent("corrupt.safetensors").path
        FileManager.default.createFile(atPath: path, contents: data)
        assertLoadFails(path, mentioning: ["corrupt header"])
        assertLoadFails(tmp.appendingPathComponent("absent.safetensors").path, mentioning: ["cannot read"])
    }
}
