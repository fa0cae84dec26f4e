import Foundation
import Tensors
import XCTest
@testable import ViT

/// NaN and infinity: found in buffers, in forward outputs, and refused in weights files.
final class FiniteTests: XCTestCase {
    let fixture = VitFixture.all[0]  // tiny3

    func testFirstNonFiniteFindsTheFirstBadValue() {
        XCTAssertNil(firstNonFinite([Float]()))
        XCTAssertNil(firstNonFinite([Float](repeating: 1, count: 5000)))
        XCTAssertNil(firstNonFinite([Float.greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, -0.0]))
        for n in [1, 7, 8, 9, 1023, 1024, 1025, 5000] {
            for at in Set([0, n / 2, n - 1]) {
                for bad in [Float.nan, .infinity, -.infinity, -Float.nan, Float(bitPattern: 0x7F80_0001)] {
                    var v = [Float](repeating: 0.5, count: n)
                    v[at] = bad
                    if at + 1 < n { v[n - 1] = .nan }
                    XCTAssertEqual(firstNonFinite(v), at, "n \(n), \(bad) at \(at)")
                }
            }
        }
    }

    func testCraftedOutput() {
        var out = ViTOutput(logits: Tensor(zeros: [3, 4]), classAttention: Tensor(zeros: [3, 2, 2, 5]))
        XCTAssertNil(out.firstNonFiniteImage())
        out.classAttention.scalars[2 * 20 + 7] = .nan
        XCTAssertEqual(out.firstNonFiniteImage(), 2)
        out.logits.scalars[1 * 4 + 3] = .infinity
        XCTAssertEqual(out.firstNonFiniteImage(), 1)
        out.attention = Tensor(zeros: [3, 2, 2, 5, 5])
        out.attention!.scalars[1] = -.infinity
        XCTAssertEqual(out.firstNonFiniteImage(), 0)
        out = ViTOutput(logits: Tensor(zeros: [2, 4]), classAttention: Tensor(zeros: [2, 1, 1, 3]))
        out.attention = Tensor(zeros: [2, 1, 1, 3, 3])
        out.attention!.scalars[9 + 4] = .nan
        XCTAssertEqual(out.firstNonFiniteImage(), 1)
    }

    func testForwardPassWithNaNWeightsOrImages() throws {
        let (c, w) = try ViTWeights.load(path: fixture.path("model.safetensors"))
        let x = try fixture.tensor("inputs.npy")
        XCTAssertNil(VisionTransformer(config: c, weights: w).forward(x, storeAttention: true).firstNonFiniteImage())
        var bad = w
        bad.blocks[1].mlp.fc2.weight[5] = .nan
        XCTAssertEqual(VisionTransformer(config: c, weights: bad).forward(x, storeAttention: true).firstNonFiniteImage(), 0)
        // A NaN pixel in the second image spoils that image only.
        var y = x
        y.scalars[x.count / x.shape[0] + 17] = .nan
        let out = VisionTransformer(config: c, weights: w).forward(y)
        XCTAssertEqual(out.firstNonFiniteImage(), 1)
    }
}
