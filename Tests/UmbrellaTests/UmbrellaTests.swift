import SemComKit
import XCTest

/// `import SemComKit` alone gives a library user the method's types.
final class UmbrellaTests: XCTestCase {
    func testOneImportReachesTheMethod() throws {
        let setting = Setting(edge: "tiny", server: "base", measure: try ImportanceMeasure.parse("rollout"),
                              rule: try SelectionRule.parse("sum:0.9"), gate: try Gate.parse("min:0.8"))
        XCTAssertEqual(setting.ordering, .measure(run: "tiny", measure: .rollout))
        XCTAssertEqual(ViTConfig.deitTiny.parameterCount, 5_717_416)
        XCTAssertEqual(Preprocessing(size: 224, cropPct: 0.875).size, 224)
        XCTAssertEqual(SelectionRule.sum(0.5).keep(sorted: [0.4, 0.3, 0.2, 0.1]), 1)
    }
}
