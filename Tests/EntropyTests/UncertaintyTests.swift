import Foundation
import XCTest
@testable import Entropy

/// Entropy measures and gates on hand-worked distributions.
final class UncertaintyTests: XCTestCase {
    let uniform4 = [0.25, 0.25, 0.25, 0.25]
    let skewed = [0.5, 0.25, 0.125, 0.125]

    func testShannon() {
        XCTAssertEqual(Uncertainty.shannon(uniform4), 2, accuracy: 1e-12)
        XCTAssertEqual(Uncertainty.shannon(skewed), 1.75, accuracy: 1e-12)  // 0.5·1 + 0.25·2 + 2·0.125·3
        XCTAssertEqual(Uncertainty.shannon([1, 0, 0]), 0)
    }

    func testMinEntropyAndMargin() {
        XCTAssertEqual(Uncertainty.minEntropy(skewed), 1, accuracy: 1e-12)
        XCTAssertEqual(Uncertainty.minEntropy(uniform4), 2, accuracy: 1e-12)
        XCTAssertEqual(Uncertainty.margin(skewed), 0.25, accuracy: 1e-12)
        XCTAssertEqual(Uncertainty.margin(uniform4), 0, accuracy: 1e-12)
        XCTAssertEqual(Uncertainty.margin([0.1, 0.7, 0.2]), 0.5, accuracy: 1e-12)
    }

    func testRenyiContainsShannonAndMinEntropy() {
        XCTAssertEqual(Uncertainty.renyi(skewed, alpha: 1), 1.75, accuracy: 1e-12)
        XCTAssertEqual(Uncertainty.renyi(skewed, alpha: .infinity), 1, accuracy: 1e-12)
        XCTAssertEqual(Uncertainty.renyi(skewed, alpha: 1 + 1e-7), 1.75, accuracy: 1e-5)
        XCTAssertEqual(Uncertainty.renyi(skewed, alpha: 500), 1, accuracy: 0.01)
        XCTAssertEqual(Uncertainty.renyi(skewed, alpha: 0), 2, accuracy: 1e-12)
        // Order 2 (collision entropy): -log2(sum p²) = -log2(0.25 + 0.0625 + 2·0.015625) = -log2(0.34375).
        XCTAssertEqual(Uncertainty.renyi(skewed, alpha: 2), -log2(0.34375), accuracy: 1e-12)
        // Non-increasing in alpha; all equal on a uniform distribution.
        let orders = [0, 0.5, 1, 2, 5, 50, Double.infinity]
        let h = orders.map { Uncertainty.renyi(skewed, alpha: $0) }
        for (a, b) in zip(h, h.dropFirst()) { XCTAssertGreaterThanOrEqual(a + 1e-12, b) }
        for a in orders { XCTAssertEqual(Uncertainty.renyi(uniform4, alpha: a), 2, accuracy: 1e-9) }
    }

    func testProbabilitiesAndTemperature() {
        let p = Uncertainty.probabilities([0, log(3)][...])
        XCTAssertEqual(p[0], 0.25, accuracy: 1e-7)
        XCTAssertEqual(p[1], 0.75, accuracy: 1e-7)
        let hot = Uncertainty.probabilities([0, Float(log(3.0))][...], temperature: 1e6)
        XCTAssertEqual(hot[0], 0.5, accuracy: 1e-6)
        let huge = Uncertainty.probabilities([1000, 0][...])
        XCTAssertEqual(huge[0], 1)
    }

    func testGates() {
        XCTAssertTrue(Gate.none.sends(skewed))
        XCTAssertTrue(Gate.minEntropy(1).sends(skewed))       // H_inf = 1 is not below 1: sent
        XCTAssertFalse(Gate.minEntropy(1.01).sends(skewed))   // confident: kept on the edge
        XCTAssertTrue(Gate.shannon(1.75).sends(skewed))
        XCTAssertFalse(Gate.shannon(1.8).sends(skewed))
        XCTAssertTrue(Gate.margin(0.25).sends(skewed))        // margin not above 0.25: sent
        XCTAssertFalse(Gate.margin(0.2).sends(skewed))
        XCTAssertFalse(Gate.renyi(alpha: .infinity, threshold: 1.5).sends(skewed))
    }

    func testParsing() {
        XCTAssertEqual(Gate(parsing: "min:0.8"), .minEntropy(0.8))
        XCTAssertEqual(Gate(parsing: "renyi:inf:2"), .renyi(alpha: .infinity, threshold: 2))
        XCTAssertEqual(Gate(parsing: "none"), Gate.none)
        XCTAssertNil(Gate(parsing: "min"))
        XCTAssertNil(Gate(parsing: "entropy:1"))
        XCTAssertNil(Gate(parsing: "renyi:-1:2"))
        for g in [Gate.none, .minEntropy(0.8), .shannon(2), .margin(0.1), .renyi(alpha: 2, threshold: 1)] {
            XCTAssertEqual(Gate(parsing: g.description), g)
        }
    }
}
