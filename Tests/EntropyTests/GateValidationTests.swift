import XCTest
@testable import Entropy

/// Issue 10 item 3: `Gate.parse` refuses every threshold outside its meaningful
/// range (entropies finite and >= 0, margins in [0, 1], Rényi orders > 0).
final class GateValidationTests: XCTestCase {
    func testRangesAreEnforced() throws {
        for bad in ["min:-1", "min:nan", "min:inf", "shannon:nan", "shannon:-0.1", "margin:1.5", "margin:-0.5", "margin:inf",
                    "renyi:0:1", "renyi:-1:1", "renyi:nan:1", "renyi:2:-1", "renyi:2:inf", "none:1", "min", "min:x", "entropy:1"] {
            XCTAssertNil(Gate(parsing: bad), bad)
            XCTAssertThrowsError(try Gate.parse(bad), bad) { XCTAssertTrue("\($0)".contains(bad), "\($0)") }
        }
        XCTAssertEqual(try Gate.parse("min:0"), .minEntropy(0))
        XCTAssertEqual(try Gate.parse("margin:1"), .margin(1))
        XCTAssertEqual(try Gate.parse("renyi:inf:2"), .renyi(alpha: .infinity, threshold: 2))
        XCTAssertEqual(try Gate.parse("none"), Gate.none)
    }

    func testThresholdsAndTemperature() throws {
        XCTAssertEqual(try Gate.shannon(1).checked(threshold: 3), .shannon(3))
        XCTAssertThrowsError(try Gate.margin(0.5).checked(threshold: 1.5))
        XCTAssertThrowsError(try Gate.none.checked(threshold: 0))
        XCTAssertNoThrow(try Gate.check(temperature: 0.5))
        for t in [0, -1, Double.nan, .infinity] { XCTAssertThrowsError(try Gate.check(temperature: t), "\(t)") }
    }
}

final class UncertaintyMeasureTests: XCTestCase {
    /// A gate is a measure, a threshold and the measure's direction: entropies send at or
    /// above the threshold, the margin at or below it.
    func testAGateComparesItsMeasureInTheMeasuresDirection() {
        let p = [0.5, 0.25, 0.125, 0.125]
        for (m, v) in [(UncertaintyMeasure.minEntropy, 1.0), (.shannon, 1.75), (.margin, 0.25), (.renyi(alpha: 2), -log2(0.34375))] {
            XCTAssertEqual(m.value(p), v, accuracy: 1e-12, "\(m)")
            let below = Gate.threshold(m, v - 0.01), above = Gate.threshold(m, v + 0.01)
            XCTAssertEqual(below.sends(p), m.growsWithUncertainty, "\(m)")
            XCTAssertEqual(above.sends(p), !m.growsWithUncertainty, "\(m)")
            XCTAssertEqual(try Gate.parse("\(Gate.threshold(m, 0.5))"), .threshold(m, 0.5))
        }
        XCTAssertEqual(Gate.minEntropy(0.8), .threshold(.minEntropy, 0.8))
        XCTAssertNil(Gate.none.measure)
        XCTAssertEqual(Gate.margin(0.3).thresholdValue, 0.3)
    }
}
