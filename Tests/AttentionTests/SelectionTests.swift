import Tensors
import XCTest
@testable import Attention

/// Orderings and selection rules on hand-worked score vectors.
final class SelectionTests: XCTestCase {
    // Patch scores (sum 1): sorted order 2, 0, 3, 1, 4 (ties: 0 before 3).
    let scores: [Float] = [0.25, 0.125, 0.375, 0.25, 0.0]

    func testOrderingBreaksTiesByLowerIndex() {
        XCTAssertEqual(Ordering.byScore(scores[...]), [2, 0, 3, 1, 4])
    }

    var sorted: ArraySlice<Float> { Ordering.byScore(scores[...]).map { scores[$0] }[...] }

    func testTopK() {
        XCTAssertEqual(SelectionRule.topK(2).keep(sorted: sorted), 2)
        XCTAssertEqual(SelectionRule.topK(0).keep(sorted: sorted), 0)
        XCTAssertEqual(SelectionRule.topK(9).keep(sorted: sorted), 5)
    }

    func testThreshold() {
        XCTAssertEqual(SelectionRule.threshold(0.25).keep(sorted: sorted), 3)   // ties at the threshold are kept
        XCTAssertEqual(SelectionRule.threshold(0.3).keep(sorted: sorted), 1)
        XCTAssertEqual(SelectionRule.threshold(0.5).keep(sorted: sorted), 0)
        XCTAssertEqual(SelectionRule.threshold(0).keep(sorted: sorted), 5)
    }

    func testAttentionSum() {
        // Running sums: 0.375, 0.625, 0.875, 1.0, 1.0.
        XCTAssertEqual(SelectionRule.sum(0.875).keep(sorted: sorted), 3)        // equal to delta: kept
        XCTAssertEqual(SelectionRule.sum(0.8).keep(sorted: sorted), 2)          // never exceeds delta
        XCTAssertEqual(SelectionRule.sum(0.3).keep(sorted: sorted), 0)          // delta below the largest score: nothing
        XCTAssertEqual(SelectionRule.sum(1).keep(sorted: sorted), 5)            // delta = 1: everything
        XCTAssertEqual(SelectionRule.sum(0.99).keep(sorted: sorted), 3)
    }

    func testRandomOrderingIsAFixedPermutation() {
        let a = Ordering.random(patches: 196, seed: 7, image: 3)
        XCTAssertEqual(a.sorted(), Array(0..<196))
        XCTAssertEqual(a, Ordering.random(patches: 196, seed: 7, image: 3))
        XCTAssertNotEqual(a, Ordering.random(patches: 196, seed: 7, image: 4))
        XCTAssertNotEqual(a, Ordering.random(patches: 196, seed: 8, image: 3))
        XCTAssertEqual(SelectionRule.randomK(10).keep(sorted: sorted), 5)
    }

    func testParsing() {
        XCTAssertEqual(SelectionRule(parsing: "sum:0.97"), .sum(0.97))
        XCTAssertEqual(SelectionRule(parsing: "topk:50"), .topK(50))
        XCTAssertEqual(SelectionRule(parsing: "random:30"), .randomK(30))
        XCTAssertEqual(SelectionRule(parsing: "threshold:0.01"), .threshold(0.01))
        XCTAssertNil(SelectionRule(parsing: "topk:1.5"))
        XCTAssertNil(SelectionRule(parsing: "sum"))
        XCTAssertNil(SelectionRule(parsing: "best:3"))
    }
}

/// Importance measures on a hand-made 2-layer, 2-head, 3-token attention.
final class ImportanceTests: XCTestCase {
    // Layer-major L x H x T x T, rows sum to 1.
    let attention: [Float] = [
        // layer 0, head 0
        0.5, 0.25, 0.25,  0, 1, 0,  0, 0, 1,
        // layer 0, head 1
        0.2, 0.6, 0.2,  0.5, 0.5, 0,  0, 0.5, 0.5,
        // layer 1, head 0
        0.4, 0.1, 0.5,  0, 1, 0,  0.5, 0, 0.5,
        // layer 1, head 1
        0.0, 0.8, 0.2,  1, 0, 0,  0, 0, 1,
    ]

    func testMean() {
        // Last layer class rows: [0.4, 0.1, 0.5] and [0, 0.8, 0.2]; patch columns summed: [0.9, 0.7] / 1.6.
        let classRows: [Float] = [0.4, 0.1, 0.5, 0.0, 0.8, 0.2]  // H x T
        let m = Importance.mean(classAttention: Tensor(shape: [1, 1, 2, 3], scalars: classRows)).scalars  // B x L x H x T
        XCTAssertEqual(m[0], 0.9 / 1.6, accuracy: 1e-6)
        XCTAssertEqual(m[1], 0.7 / 1.6, accuracy: 1e-6)
    }

    /// A direct computation: J_h = (A1+I)(A0+I), mean over heads, row 0, patch columns renormalised.
    func testRolloutAgainstMatrixProducts() {
        func matrix(_ l: Int, _ h: Int) -> [[Double]] {
            (0..<3).map { i in (0..<3).map { j in Double(attention[((l * 2 + h) * 3 + i) * 3 + j]) + (i == j ? 1 : 0) } }
        }
        func mul(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
            (0..<3).map { i in (0..<3).map { j in (0..<3).reduce(0) { $0 + a[i][$1] * b[$1][j] } } }
        }
        var row = [0.0, 0.0, 0.0]
        for h in 0..<2 { let j = mul(matrix(1, h), matrix(0, h)); for c in 0..<3 { row[c] += j[0][c] / 2 } }
        let expected = [row[1] / (row[1] + row[2]), row[2] / (row[1] + row[2])]
        let r = Importance.rollout(attention: Tensor(shape: [1, 2, 2, 3, 3], scalars: attention)).scalars
        XCTAssertEqual(Double(r[0]), expected[0], accuracy: 1e-6)
        XCTAssertEqual(Double(r[1]), expected[1], accuracy: 1e-6)
    }

    func testTextbookRollout() {
        func m(_ l: Int) -> [[Double]] {
            (0..<3).map { i -> [Double] in
                (0..<3).map { j -> Double in
                    let h0 = Double(attention[((l * 2) * 3 + i) * 3 + j])
                    let h1 = Double(attention[((l * 2 + 1) * 3 + i) * 3 + j])
                    let identity: Double = i == j ? 0.5 : 0
                    return 0.5 * (h0 + h1) / 2 + identity
                }
            }
        }
        let a = m(1), b = m(0)
        let row = (0..<3).map { j in (0..<3).reduce(0.0) { $0 + a[0][$1] * b[$1][j] } }
        let r = Importance.textbookRollout(attention: Tensor(shape: [1, 2, 2, 3, 3], scalars: attention)).scalars
        XCTAssertEqual(Double(r[0]), row[1] / (row[1] + row[2]), accuracy: 1e-6)
        XCTAssertEqual(Double(r[1]), row[2] / (row[1] + row[2]), accuracy: 1e-6)
    }
}

final class ImportanceMeasureTests: XCTestCase {
    func testParseAndPrintAreInverse() throws {
        for m: ImportanceMeasure in [.mean, .rollout, .textbook, .head(0), .head(11)] {
            XCTAssertEqual(try ImportanceMeasure.parse(m.description), m)
        }
        XCTAssertEqual(ImportanceMeasure.stored.map(\.description), ["mean", "rollout", "textbook"])
    }

    func testMalformedMeasuresAreRefusedNamingTheText() {
        for text in ["", "Mean", "head", "head:", "head:-1", "head:x", "head:1.5", "rollout2", " mean"] {
            XCTAssertThrowsError(try ImportanceMeasure.parse(text)) {
                XCTAssertEqual("\($0)", "measure '\(text)': expected \(ImportanceMeasure.syntax)")
            }
        }
    }
}
