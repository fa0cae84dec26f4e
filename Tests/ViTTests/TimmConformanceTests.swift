import Attention
import Tensors
import XCTest
@testable import ViT

/// The forward pass against timm (references computed in float64 by
/// `Scripts/make_vit_fixtures.py`): plain ViTs, a distilled DeiT (logits the
/// mean of both heads, patch columns after 2 prefix tokens) and a ViT with
/// register tokens. Tolerances: logits 1e-4 relative (1e-4 absolute floor),
/// attention and importance 1e-5 absolute.
final class TimmConformanceTests: XCTestCase {
    override func invokeTest() { Threads.with(2) { super.invokeTest() } }

    func testFullImage() throws {
        for f in VitFixture.all {
            let model = try VisionTransformer(weightsPath: f.path("model.safetensors"))
            let out = model.forward(try f.tensor("inputs.npy"), storeAttention: true)
            let prefix = model.config.prefixTokens
            assertClose(out.logits, try f.tensor("logits.npy"), atol: 1e-4, rtol: 1e-4, "\(f.name) logits")
            assertClose(out.classAttention, try f.tensor("cls_attention.npy"), atol: 1e-5, "\(f.name) class attention")
            assertClose(Importance.mean(classAttention: out.classAttention, prefixTokens: prefix), try f.tensor("mean_importance.npy"), atol: 1e-5, "\(f.name) mean importance")
            assertClose(Importance.rollout(attention: out.attention!, prefixTokens: prefix), try f.tensor("rollout_importance.npy"), atol: 1e-5, "\(f.name) rollout")
            assertClose(Importance.textbookRollout(attention: out.attention!, prefixTokens: prefix), try f.tensor("rollout_textbook.npy"), atol: 1e-5, "\(f.name) textbook rollout")
        }
    }

    func testTokenSubset() throws {
        for f in VitFixture.all {
            let model = try VisionTransformer(weightsPath: f.path("model.safetensors"))
            let out = model.forward(try f.tensor("inputs.npy"), keep: try f.rows("keep.npy"))
            assertClose(out.logits, try f.tensor("logits_keep.npy"), atol: 1e-4, rtol: 1e-4, "\(f.name) subset logits")
            assertClose(out.classAttention, try f.tensor("cls_attention_keep.npy"), atol: 1e-5, "\(f.name) subset attention")
        }
    }

    func testPrefixTokensOfTheNewFamilies() throws {
        XCTAssertEqual(try VisionTransformer(weightsPath: VitFixture.distilled.path("model.safetensors")).config.prefixTokens, 2)
        XCTAssertEqual(try VisionTransformer(weightsPath: VitFixture.registers.path("model.safetensors")).config.prefixTokens, 5)
    }

    /// Through the protocol, as the registry's factories hand models out.
    func testImageClassifierProtocol() throws {
        let f = VitFixture.distilled
        let model: any ImageClassifier = try ModelRegistry.load("auto", weightsPath: f.path("model.safetensors"))
        let x = try f.tensor("inputs.npy")
        assertClose(model.forward(x).logits, try f.tensor("logits.npy"), atol: 1e-4, rtol: 1e-4, "protocol logits")
        let kept = model.forward(x, keep: try f.rows("keep.npy"))
        assertClose(kept.classAttention, try f.tensor("cls_attention_keep.npy"), atol: 1e-5, "protocol subset attention")
        XCTAssertEqual(model.forward(x, storeAttention: true).attention?.shape, [2, 2, 2, 18, 18])
    }

    func testOneThreadEqualsTwo() throws {
        let f = VitFixture.all[1]
        let model = try VisionTransformer(weightsPath: f.path("model.safetensors"))
        let x = try f.tensor("inputs.npy")
        let one = Threads.with(1) { model.forward(x).logits }
        let two = Threads.with(2) { model.forward(x).logits }
        assertClose(one, two, atol: 1e-5, "1 vs 2 threads")
    }

    func testBatchOfOneEqualsBatch() throws {
        for f in [VitFixture.all[0], .distilled, .registers] {
            let model = try VisionTransformer(weightsPath: f.path("model.safetensors"))
            let x = try f.tensor("inputs.npy")
            let batch = model.forward(x).logits
            for i in 0..<x.shape[0] {
                let single = model.forward(Tensor.stack([x[i]])).logits
                assertClose(single, Tensor.stack([batch[i]]), atol: 1e-5, rtol: 1e-5, "\(f.name): image \(i) alone vs in batch")
            }
        }
    }
}
