import Foundation
import Safety
import Tensors
import XCTest
@testable import ViT

/// The registry of architectures by timm's names, and parameter counts against timm's.
final class RegistryTests: XCTestCase {
    func testNamesWithAndWithoutTags() throws {
        XCTAssertEqual(ModelRegistry.names, ["deit_base_distilled_patch16_224", "deit_base_patch16_224",
                                             "deit_small_distilled_patch16_224", "deit_small_patch16_224",
                                             "deit_tiny_distilled_patch16_224", "deit_tiny_patch16_224"])
        XCTAssertEqual(ModelRegistry.architecture(named: "deit_tiny_patch16_224.fb_in1k")?.config, .deitTiny)
        let distilled = try XCTUnwrap(ModelRegistry.architecture(named: "deit_small_distilled_patch16_224.fb_in1k"))
        XCTAssertEqual(distilled.name, "deit_small_distilled_patch16_224")
        XCTAssertTrue(distilled.config.distilled)
        XCTAssertEqual(distilled.config.prefixTokens, 2)
        XCTAssertEqual(distilled.config.numTokens, 198)
        XCTAssertNil(ModelRegistry.architecture(named: "deit_huge_patch16_224"))
        XCTAssertNil(ModelRegistry.architecture(named: ""))
    }

    /// timm 1.0.31's counts, sum(p.numel() for p in timm.create_model(name).parameters()).
    func testParameterCountsMatchTimm() {
        let timm = ["deit_tiny_patch16_224": 5_717_416, "deit_small_patch16_224": 22_050_664, "deit_base_patch16_224": 86_567_656,
                    "deit_tiny_distilled_patch16_224": 5_910_800, "deit_small_distilled_patch16_224": 22_436_432,
                    "deit_base_distilled_patch16_224": 87_338_192]
        for (name, count) in timm {
            XCTAssertEqual(ModelRegistry.architecture(named: name)?.config.parameterCount, count, name)
        }
    }

    func testFactoryChecksTheArchitecture() throws {
        let f = VitFixture.distilled
        XCTAssertThrowsError(try ModelRegistry.load("deit_tiny_distilled_patch16_224", weightsPath: f.path("model.safetensors"))) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix(f.path("model.safetensors") + ": "), message)
            XCTAssertTrue(message.contains("num_heads 3 (from the architecture)"), message)  // the first check that fails
        }
        XCTAssertThrowsError(try ModelRegistry.load("deit_huge", weightsPath: f.path("model.safetensors"))) { error in
            let message = "\(error)"
            XCTAssertFalse(message.contains("\n"))
            XCTAssertTrue(message.contains("unknown architecture 'deit_huge'") && message.contains("deit_tiny_distilled_patch16_224"), message)
            XCTAssertEqual((error as? WeightsError)?.kind, .badValue)
        }
        let auto = try ModelRegistry.load(nil, weightsPath: f.path("model.safetensors"))
        XCTAssertTrue(auto.config.distilled)
    }

    /// A config.json naming a registered architecture gives the head count.
    func testSiblingConfigNamesAnArchitecture() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-registry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(#"{"architecture": "deit_base_distilled_patch16_224"}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        let heads = try ViTWeights.headsFromSiblingConfig(of: dir.appendingPathComponent("model.safetensors").path)
        XCTAssertEqual(heads?.0, 12)
    }

    /// Issue 12 item 4: Table I's GFLOPs as the paper counts them (patch
    /// embedding, encoder, head) within 1 % of its 1.26 / 4.61 / 17.58.
    func testImageFLOPsAreThePapersTableI() {
        for (c, paper, exact) in [(ViTConfig.deitTiny, 1.26, 1.2537), (.deitSmall, 4.61, 4.5989), (.deitBase, 17.58, 17.5638)] {
            XCTAssertEqual(c.imageFLOPs / 1e9, exact, accuracy: 1e-4)
            XCTAssertEqual(c.imageFLOPs / 1e9, paper, accuracy: paper * 0.01)
            XCTAssertGreaterThan(c.imageFLOPs, c.encoderFLOPs(tokens: c.numTokens))
        }
        XCTAssertEqual(ModelRegistry.name(of: .deitSmall), "deit_small_patch16_224")
        let demo = ViTConfig(imageSize: 64, patchSize: 8, embedDim: 48, depth: 3, numHeads: 3, numClasses: 10)
        XCTAssertNil(ModelRegistry.name(of: demo))
        XCTAssertEqual(demo.shapeDescription, "ViT D=48 L=3 H=3, patch 8 at 64 px")
    }
}

/// `topK` keeps the k largest in one pass; it must equal a full sort (ties: lower index first).
final class TopKTests: XCTestCase {
    func testTopKEqualsAFullSort() {
        var rng = SplitMix64(seed: 7)
        for n in [1, 5, 10, 1000] {
            let values = (0..<n).map { _ in Float(Int(rng.next() % 20)) }  // many ties
            let sorted = values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
            for k in [0, 1, 5, n, n + 3] {
                XCTAssertEqual(topK(values[...], k).map(\.index), Array(sorted.prefix(k)), "n \(n) k \(k)")
            }
        }
        XCTAssertEqual(topK([3, 9, 9, 1][1...], 2).map(\.index), [0, 1], "indices relative to the slice")
    }
}
