import Foundation
import Tensors
import XCTest
@testable import ViT

/// Weights files that are well-formed safetensors but make no sense as a ViT
/// (or are not safetensors at all): each is refused with one line naming the
/// file and the tensor or field, never a trap.
final class HostileWeightsTests: XCTestCase {
    let fixture = VitFixture.all[0]  // tiny3: D 48, 3 heads, patch 8, 32 px
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-hostile-weights-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    /// The fixture's tensors, changed by `edit`, written with `metadata` (no config.json beside them).
    func weights(metadata: [String: String] = ["num_heads": "3"], _ edit: (inout [String: Tensor]) -> Void = { _ in }) throws -> String {
        let file = try SafeTensors(path: fixture.path("model.safetensors"))
        var tensors: [String: Tensor] = [:]
        for n in file.names { tensors[n] = file.tensor(n) }
        edit(&tensors)
        let path = tmp.appendingPathComponent("w-\(UUID().uuidString).safetensors").path
        try SafeTensors.write(tensors, metadata: metadata, to: path)
        return path
    }

    func assertLoadFails(_ path: String, heads: Int? = nil, expected: ViTConfig? = nil, mentioning words: [String],
                         file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ViTWeights.load(path: path, expected: expected, heads: heads), file: file, line: line) { error in
            let message = "\(error)"
            XCTAssertFalse(message.contains("\n"), "one line: \(message)", file: file, line: line)
            XCTAssertTrue(message.hasPrefix(path + ": "), "names the file: \(message)", file: file, line: line)
            for w in words { XCTAssertTrue(message.contains(w), "'\(message)' should mention '\(w)'", file: file, line: line) }
        }
    }

    func testBaselineLoads() throws {
        let (c, _) = try ViTWeights.load(path: try weights())
        XCTAssertEqual(c, ViTConfig(imageSize: 32, patchSize: 8, embedDim: 48, depth: 3, numHeads: 3, numClasses: 10))
    }

    func testNegativeShape() throws {
        var header = #"{"__metadata__":{"num_heads":"3"},"cls_token":{"dtype":"F32","shape":[1,-1,48],"data_offsets":[0,192]}}"#
        while (8 + header.utf8.count) % 8 != 0 { header += " " }
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(Data(header.utf8))
        data.append(Data(count: 192))
        let path = tmp.appendingPathComponent("negative.safetensors").path
        FileManager.default.createFile(atPath: path, contents: data)
        assertLoadFails(path, mentioning: ["tensor 'cls_token'", "field 'shape'", "negative"])
    }

    func testPatchSizeZero() throws {
        let path = try weights { $0["patch_embed.proj.weight"] = Tensor(zeros: [48, 3, 0, 0]) }
        assertLoadFails(path, mentioning: ["'patch_embed.proj.weight'", "[48, 3, 0, 0]", "patch size 0"])
    }

    func testPatchEmbeddingOfNonsenseShape() throws {
        for shape in [[48, 3, 8, 4], [48, 2, 8, 8], [47, 3, 8, 8], [48, 3, 8], [48, 3, 8, 8, 1]] {
            let path = try weights { $0["patch_embed.proj.weight"] = Tensor(zeros: shape) }
            assertLoadFails(path, mentioning: ["'patch_embed.proj.weight'", "\(shape)", "expected [48, 3, p, p]"])
        }
    }

    func testZeroSizedEmbedding() throws {
        let path = try weights { $0["cls_token"] = Tensor(zeros: [1, 1, 0]) }
        assertLoadFails(path, mentioning: ["'cls_token'", "[1, 1, 0]", "all positive"])
    }

    func testTensorNamedBlocksDot() throws {
        let path = try weights { $0["blocks."] = Tensor(zeros: [2]) }
        assertLoadFails(path, mentioning: ["unexpected tensor(s): blocks."])
        let odd = try weights { $0["blocks.x.norm1.weight"] = Tensor(zeros: [48]) }
        assertLoadFails(odd, mentioning: ["unexpected tensor(s): blocks.x.norm1.weight"])
    }

    func testMetadataNumHeadsNotDividingEmbedDim() throws {
        let path = try weights(metadata: ["num_heads": "5"])
        assertLoadFails(path, mentioning: ["num_heads 5", "__metadata__", "does not divide embed dim 48", "qkv"])
        assertLoadFails(try weights(metadata: ["num_heads": "0"]), mentioning: ["num_heads 0", "__metadata__"])
        assertLoadFails(try weights(metadata: ["num_heads": "-3"]), mentioning: ["num_heads -3", "__metadata__"])
    }

    func testMetadataNumHeadsNotAnInteger() throws {
        assertLoadFails(try weights(metadata: ["num_heads": "three"]), mentioning: ["field 'num_heads' of __metadata__", "'three'", "not an integer"])
    }

    func testMetadataNumHeadsDisagreeingWithTheCaller() throws {
        let path = try weights(metadata: ["num_heads": "4"])
        assertLoadFails(path, heads: 3, mentioning: ["field 'num_heads' of __metadata__ is 4", "the heads argument gives 3"])
        let tinyArch = ViTConfig(imageSize: 32, patchSize: 8, embedDim: 48, depth: 3, numHeads: 3, numClasses: 10)
        assertLoadFails(path, expected: tinyArch, mentioning: ["field 'num_heads' of __metadata__ is 4", "the architecture gives 3"])
        assertLoadFails(try weights(metadata: [:]), heads: 5, mentioning: ["num_heads 5", "the heads argument", "does not divide embed dim 48"])
    }

    func testConfigJSONNumHeads() throws {
        let path = try weights(metadata: [:])
        let config = tmp.appendingPathComponent("config.json")
        try Data(#"{"num_heads": 7}"#.utf8).write(to: config)
        assertLoadFails(path, mentioning: ["num_heads 7", "field 'num_heads' of \(config.path)", "does not divide embed dim 48"])
        try Data(#"{"num_attention_heads": 2.5}"#.utf8).write(to: config)
        XCTAssertThrowsError(try ViTWeights.load(path: path)) { error in
            XCTAssertTrue("\(error)".hasPrefix(config.path + ": field 'num_attention_heads' is 2.5, not an integer"), "\(error)")
        }
        try FileManager.default.removeItem(at: config)
        XCTAssertEqual(mkfifo(config.path, 0o600), 0)
        XCTAssertThrowsError(try ViTWeights.load(path: path)) { error in
            XCTAssertTrue("\(error)".hasPrefix(config.path + ": not a regular file (a FIFO (named pipe))"), "\(error)")
        }
    }

    func testScalarQueryInTransformersLayout() throws {
        let hf = try SafeTensors(path: fixture.path("model_hf.safetensors"))
        var tensors: [String: Tensor] = [:]
        for n in hf.names { tensors[n] = hf.tensor(n) }
        for n in hf.names where n.contains("layer.1.attention.attention.") && n.hasSuffix(".bias") { tensors[n] = Tensor(shape: [], scalars: [0]) }
        let path = tmp.appendingPathComponent("hf.safetensors").path
        try SafeTensors.write(tensors, metadata: ["num_heads": "3"], to: path)
        assertLoadFails(path, mentioning: ["blocks.1.attn.qkv.bias", "scalars"])
    }

    func testMissingTensorsOfAHugeModelAllocateNothing() throws {
        // fc1 claims a hidden width of 2^40 with no data; the other blocks' fc1/fc2 are missing.
        let path = try weights {
            $0["blocks.0.mlp.fc1.weight"] = Tensor(zeros: [1 << 40, 0])
            for key in Array($0.keys) where key.hasPrefix("blocks.1.mlp.") { $0[key] = nil }
        }
        assertLoadFails(path, mentioning: ["'blocks.0.mlp.fc1.weight'", "[1099511627776, 0]"])
    }
}
