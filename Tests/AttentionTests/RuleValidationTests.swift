import XCTest
@testable import Attention

/// Issue 10 item 3: `SelectionRule.parse` refuses every parameter outside its
/// meaningful range, with one line naming the text; `init?(parsing:)` is nil then.
final class RuleValidationTests: XCTestCase {
    func testRangesAreEnforced() throws {
        for bad in ["topk:0", "random:0", "topk:-1", "topk:1.5", "topk:1e30", "topk:inf", "topk:nan", "random:2000000",
                    "sum:-0.01", "sum:1.5", "sum:inf", "sum:nan", "threshold:-1", "threshold:2", "threshold:nan",
                    "sum", "sum:", "sum:1:2", "best:3", "topk:x"] {
            XCTAssertNil(SelectionRule(parsing: bad), bad)
            XCTAssertThrowsError(try SelectionRule.parse(bad), bad) { XCTAssertTrue("\($0)".contains(bad), "\($0)") }
        }
        XCTAssertEqual(try SelectionRule.parse("topk:1"), .topK(1))
        XCTAssertEqual(try SelectionRule.parse("random:1000000"), .randomK(1_000_000))
        XCTAssertEqual(try SelectionRule.parse("sum:0"), .sum(0))
        XCTAssertEqual(try SelectionRule.parse("sum:1"), .sum(1))
        XCTAssertEqual(try SelectionRule.parse("threshold:0.5"), .threshold(0.5))
    }

    func testParametersAndPatches() throws {
        XCTAssertEqual(try SelectionRule.topK(5).checked(parameter: 7), .topK(7))
        XCTAssertThrowsError(try SelectionRule.topK(5).checked(parameter: 0))
        XCTAssertThrowsError(try SelectionRule.topK(5).checked(parameter: .infinity))
        XCTAssertThrowsError(try SelectionRule.sum(0.5).checked(parameter: 1.01))
        XCTAssertThrowsError(try SelectionRule.threshold(0.5).checked(parameter: -.ulpOfOne))
        XCTAssertNoThrow(try SelectionRule.topK(64).check(patches: 64))
        XCTAssertThrowsError(try SelectionRule.randomK(65).check(patches: 64)) { XCTAssertTrue("\($0)".contains("64 patches"), "\($0)") }
        XCTAssertNoThrow(try SelectionRule.sum(1).check(patches: 1))
    }
}
