import Foundation
import XCTest
@testable import Repl

/// The session never writes an output over a file it reads (`inputFiles`,
/// the open cache) or over a file of another kind; a refusal is one line
/// and leaves the session as it was. (Through a real cache: OutputSafetyTests
/// in semcomTests.)
final class OutputSafetyReplTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-replout-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func session() -> Session {
        let s = Session()
        s.outputDirectory = dir.path
        _ = s.remember(ResultTable(columns: ["a", "b"], rows: [["1", "2"]]))
        return s
    }

    func testExportOntoTheRunningScriptIsRefused() throws {
        let script = dir.appendingPathComponent("s.semcom").path
        let text = "set rule topk:5\nexport s.semcom\n"
        try text.write(toFile: script, atomically: false, encoding: .utf8)
        let s = session()
        s.inputFiles = [script]
        for name in ["s.semcom", "./s.semcom", script] {
            XCTAssertThrowsError(try s.execute("export \(name)")) {
                XCTAssertTrue("\($0)".contains("s.semcom: is an input of this command"), "\($0)")
                XCTAssertFalse("\($0)".contains("\n"), "one line: \($0)")
            }
        }
        XCTAssertEqual(try String(contentsOfFile: script, encoding: .utf8), text)
        XCTAssertEqual(try s.execute("export t.csv"), "wrote \(dir.path)/t.csv", "the session goes on")
        XCTAssertEqual(try String(contentsOfFile: dir.path + "/t.csv", encoding: .utf8), "a,b\n1,2\n")
    }

    func testExportOverAnotherKindIsRefusedAndOverAnEarlierCSVIsNot() throws {
        let png = dir.appendingPathComponent("fig.csv").path
        let bytes = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3])
        try bytes.write(to: URL(fileURLWithPath: png))
        let s = session()
        XCTAssertThrowsError(try s.execute("export fig.csv")) {
            XCTAssertEqual("\($0)", "\(png): holds PNG, not CSV/text; refusing to replace it (remove it or choose another name)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: png)), bytes)
        _ = try s.execute("export t.csv")
        _ = s.remember(ResultTable(columns: ["c"], rows: [["3"]]))
        _ = try s.execute("export t.csv")
        XCTAssertEqual(try String(contentsOfFile: dir.path + "/t.csv", encoding: .utf8), "c\n3\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["fig.csv", "t.csv"], "no temporary files")
    }
}
