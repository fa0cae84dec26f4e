import Collaborative
import Figures
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import Repl

/// The command language (without a cache), the SVG writer, and value parsing.
final class ReplTests: XCTestCase {
    func testUnknownCommandsSuggestAndKeepState() throws {
        let s = Session()
        _ = try s.execute("set rule topk:30")
        XCTAssertThrowsError(try s.execute("evl")) { XCTAssertEqual("\($0)", "unknown command 'evl'; did you mean 'eval'? (try 'help')") }
        XCTAssertThrowsError(try s.execute("set rul sum:1")) { XCTAssertTrue("\($0)".contains("did you mean 'rule'"), "\($0)") }
        XCTAssertThrowsError(try s.execute("set gate entropy:1")) { XCTAssertTrue("\($0)".contains("gate 'entropy:1'"), "\($0)") }
        XCTAssertThrowsError(try s.execute("eval")) { XCTAssertTrue("\($0)".contains("no cache open"), "\($0)") }
        XCTAssertEqual(s.setting.rule, .topK(30), "errors leave the settings alone")
        XCTAssertEqual(try s.execute("   # a comment"), "")
    }

    func testVariables() throws {
        let s = Session()
        _ = try s.execute("let k = 40")
        _ = try s.execute("set rule topk:$k")
        XCTAssertEqual(s.setting.rule, .topK(40))
        _ = try s.execute("set rule topk:${k}")
        XCTAssertThrowsError(try s.execute("set rule topk:$missing")) { XCTAssertTrue("\($0)".contains("$missing"), "\($0)") }
    }

    func testHelp() throws {
        let s = Session()
        XCTAssertTrue(try s.execute("help").contains("sweep rule A:B:STEP"))
        XCTAssertTrue(try s.execute("help pareto").hasPrefix("pareto"))
        XCTAssertThrowsError(try s.execute("help parto")) { XCTAssertTrue("\($0)".contains("did you mean 'pareto'"), "\($0)") }
    }

    func testValues() throws {
        XCTAssertEqual(try parseValues("0.8:0.95:0.05"), [0.8, 0.85, 0.9, 0.95])
        XCTAssertEqual(try parseValues("1,8,20"), [1, 8, 20])
        XCTAssertThrowsError(try parseValues("1:0:1"))
        XCTAssertThrowsError(try parseValues("a,b"))
    }

    func testScriptStopsAtTheFirstErrorWithFileAndLine() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("t-\(UUID().uuidString).semcom").path
        try "# comment\nset rule topk:5\nlet x = 1\nset bogus 3\nset rule topk:9\n".write(toFile: path, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let s = Session()
        XCTAssertThrowsError(try s.runScript(path) { _ in }) { XCTAssertEqual("\($0)", "\(path):4: unknown setting 'bogus'") }
        XCTAssertEqual(s.setting.rule, .topK(5))
    }

    func testSVGIsWellFormedWithTheSeries() throws {
        let svg = SVGChart.lines(ChartText(title: "A & B", xLabel: "cost", yLabel: "accuracy"),
                                 series: [Series(name: "mean", x: [0, 0.5, 1], y: [0.7, 0.8, 0.82]),
                                          Series(name: "rollout", x: [0, 1], y: [0.6, 0.81], markers: true)],
                                 markers: [Marker(label: "default", x: 0.3, y: 0.8)])
        let names = try seriesNames(svg)
        XCTAssertEqual(names, ["mean", "rollout"])
        for logY in [false, true] {
            let hist = SVGChart.histogram(ChartText(title: "h", xLabel: "score", yLabel: "fraction"), edges: [0, 0.5, 1],
                                          series: [("a", [0.25, 0.75]), ("b", [0, 1])], logY: logY)
            XCTAssertEqual(try seriesNames(hist), ["a", "b"])
        }
        let bars = SVGChart.stackedBars(ChartText(title: "t", xLabel: "uplink rate (Mbit/s)", yLabel: "ms"), categories: ["1", "8"], parts: [("edge", [1, 1]), ("uplink", [5, 2])])
        XCTAssertTrue(try seriesNames(bars).isEmpty)
        XCTAssertNoThrow(try seriesNames(bars))
    }

    /// Parses the SVG as XML and returns the data-name of its polylines.
    func seriesNames(_ svg: String) throws -> [String] {
        final class Collector: NSObject, XMLParserDelegate {
            var names: [String] = []
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                        attributes: [String: String] = [:]) {
                if name == "polyline", let n = attributes["data-name"] { names.append(n) }
            }
        }
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = Collector()
        parser.delegate = collector
        guard parser.parse() else { throw ReplError("not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "?")") }
        return collector.names
    }
}
