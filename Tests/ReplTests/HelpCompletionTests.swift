import Attention
import Collaborative
import Entropy
import Foundation
import Imaging
import XCTest
@testable import Repl

/// Issue 12 items 8 and 9: help that teaches (topics with examples that run)
/// and tab completion in context.
final class HelpCompletionTests: XCTestCase {
    /// A cache of 10 demo images: runs edge and server (the bundled edge
    /// model: 64 patches, 3 heads) and low, the same at 32 px (a
    /// low-resolution run, for `lowres`).
    static let cache = demoCache(runs: ["edge", "server", "low@32"])

    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-helpout-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    /// A session on the test cache, writing its outputs to `tmp`.
    func session() throws -> Session {
        let s = Session()
        try s.open(Self.cache)
        s.outputDirectory = tmp.path
        return s
    }

    /// `text` without any whitespace: wrapped text compared with its source.
    func squeezed(_ text: String) -> String { text.filter { !$0.isWhitespace } }

    // MARK: help

    func testHelpListsEveryCommandWholeAndTheTopics() throws {
        let help = try Session().execute("help")
        for c in Command.all {
            XCTAssertTrue(squeezed(help).contains(squeezed(c.usage + c.help)), "help lists \(c.name)'s usage and its whole help")
        }
        for t in HelpTopic.all { XCTAssertTrue(help.contains(t.name), "help names the topic \(t.name)") }
        for line in help.split(separator: "\n") {
            let breakable = line.drop { $0 == " " }.contains(" ")
            XCTAssertTrue(line.count <= helpWidth || !breakable, "at most \(helpWidth) columns: \(line)")
        }
    }

    func testTopicsTheirAliasesAndSuggestions() throws {
        let s = Session()
        XCTAssertEqual(try s.execute("help gate"), try s.execute("help gates"), "help gate is the gates topic")
        XCTAssertEqual(try s.execute("help rule"), try s.execute("help rules"))
        XCTAssertEqual(try s.execute("help measure"), try s.execute("help measures"))
        // The syntax is the code's, one definition.
        XCTAssertTrue(squeezed(try s.execute("help rules")).contains(squeezed(SelectionRule.syntax)))
        XCTAssertTrue(squeezed(try s.execute("help gates")).contains(squeezed(Gate.syntax)))
        XCTAssertTrue(squeezed(try s.execute("help measures")).contains(squeezed(ImportanceMeasure.syntax)))
        // A word that is a command and a topic gives both.
        let latency = try s.execute("help latency")
        XCTAssertTrue(latency.hasPrefix(Command.named("latency")!.usage), latency)
        XCTAssertTrue(latency.contains("server_ms"), latency)
        XCTAssertThrowsError(try s.execute("help gat")) { XCTAssertTrue("\($0)".contains("did you mean 'gate'?"), "\($0)") }
        XCTAssertThrowsError(try s.execute("help colums")) { XCTAssertTrue("\($0)".contains("did you mean 'columns'?"), "\($0)") }
        XCTAssertThrowsError(try s.execute("help xyzzyq")) { XCTAssertFalse("\($0)".contains("did you mean"), "\($0)") }
        XCTAssertThrowsError(try s.execute("help rules gates")) { XCTAssertTrue("\($0)".contains("usage"), "\($0)") }
    }

    /// The measures topic names the encoder run's measures when a cache is open.
    func testMeasuresTopicNamesTheEncodersMeasures() throws {
        let s = try session()
        let heads = try s.cache!.run(s.setting.encoder).numHeads
        XCTAssertTrue(try s.execute("help measures").contains("head:\(heads - 1)"))
        XCTAssertFalse(try s.execute("help measures").contains("head:\(heads),"))
    }

    /// Every column an evaluation table (eval, sweep, lowres) has is
    /// documented in `help columns`, and every documented column is one.
    func testEveryEvaluationColumnIsDocumented() throws {
        let s = try session()
        _ = try s.execute("set rule topk:8")
        _ = try s.execute("sweep gate 0:1:1")
        let sweep = s.last!.columns
        _ = try s.execute("lowres")
        let lowres = s.last!.columns
        XCTAssertEqual(Set(sweep), Set(evaluationTable([], pareto: true).columns))
        XCTAssertTrue(lowres.contains("resolution"), "the cache has a low-resolution run: \(lowres)")
        let emitted = Set(sweep + lowres)
        XCTAssertTrue(emitted.isSubset(of: Set(columnDocs.keys)), "undocumented: \(emitted.subtracting(columnDocs.keys))")
        let help = try s.execute("help columns")
        for c in emitted { XCTAssertTrue(help.contains(" \(c) ") || help.contains("*\(c) "), "help columns lists \(c)") }
        XCTAssertFalse(help.contains("undocumented"))
    }

    /// Each topic's examples, as `help TOPIC` prints them (`semcom> LINE`),
    /// run in order on a cache with an edge and a server run.
    func testEveryTopicsExamplesRun() throws {
        for topic in HelpTopic.all {
            let s = try session()
            let lines = try s.execute("help \(topic.name)").split(separator: "\n")
                .compactMap { line in line.range(of: "semcom> ").map { String(line[$0.upperBound...]) } }
            XCTAssertFalse(lines.isEmpty, "help \(topic.name) has examples")
            for line in lines {
                XCTAssertNoThrow(try s.execute(line), "help \(topic.name): \(line)")
            }
        }
    }

    // MARK: completion

    func testCommandsSettingsAndFirstArguments() throws {
        let s = Session()
        XCTAssertEqual(s.completions(for: ""), Command.all.map(\.name).sorted())
        XCTAssertEqual(s.completions(for: "ev"), ["eval"])
        XCTAssertEqual(s.completions(for: "  ex"), ["exit", "export"])
        XCTAssertEqual(s.completions(for: "set "), settingNames.sorted())
        XCTAssertEqual(s.completions(for: "set te"), ["temperature"])
        XCTAssertEqual(s.completions(for: "set partial "), ["off", "on"])
        XCTAssertEqual(s.completions(for: "set codec "), ["none", "raw"])  // and the cache's jpeg:Q, when one is open
        XCTAssertEqual(s.completions(for: "set seed "), [])
        XCTAssertEqual(s.completions(for: "help "), Array(Set(Command.all.map(\.name) + HelpTopic.all.map(\.name))).sorted())
        XCTAssertEqual(s.completions(for: "help ga"), ["gates"])
        XCTAssertEqual(s.completions(for: "table "), ["patches", "transmit"])
        XCTAssertEqual(s.completions(for: "sweep "), ["gate", "rule"])
        XCTAssertEqual(s.completions(for: "show s"), ["settings"])
        XCTAssertEqual(s.completions(for: "eval # se"), [], "nothing in a comment")
        XCTAssertEqual(s.completions(for: "nosuch "), [])
    }

    /// `set rule` and `set gate` offer the forms of the code's syntax strings,
    /// each of which parses once given its numbers.
    func testRulesAndGates() throws {
        let s = Session()
        let rules = s.completions(for: "set rule ")
        XCTAssertEqual(rules, ["random:", "sum:", "threshold:", "topk:"])
        for r in rules { XCTAssertNotNil(SelectionRule(parsing: r + "1"), r) }
        XCTAssertEqual(s.completions(for: "set rule t"), ["threshold:", "topk:"])
        XCTAssertEqual(s.completions(for: "set rule sum:0.9 "), [])
        let gates = s.completions(for: "set gate ")
        XCTAssertEqual(gates, ["margin:", "min:", "none", "renyi:", "shannon:"])
        for g in gates { XCTAssertTrue(Gate(parsing: g) != nil || Gate(parsing: g + "1") != nil || Gate(parsing: g + "2:1") != nil, g) }
        XCTAssertEqual(s.completions(for: "set gate m"), ["margin:", "min:"])
    }

    /// Measures and run names: those of the open cache's runs.
    func testMeasuresAndRunsOfTheCache() throws {
        XCTAssertEqual(Session().completions(for: "set measure "), ["head:", "mean", "rollout", "textbook"])
        XCTAssertEqual(Session().completions(for: "set edge "), [], "no cache, no runs")
        let s = try session()
        let heads = try s.cache!.run(s.setting.encoder).numHeads
        XCTAssertEqual(s.completions(for: "set measure "), (["mean", "rollout", "textbook"] + (0..<heads).map { "head:\($0)" }).sorted())
        XCTAssertEqual(s.completions(for: "set measure h"), (0..<heads).map { "head:\($0)" })
        XCTAssertEqual(s.completions(for: "histogram mean r"), ["rollout"])
        let runs = try s.cache!.runNames().sorted()
        XCTAssertEqual(runs, ["edge", "low", "server"])
        for setting in ["edge", "server", "encoder"] { XCTAssertEqual(s.completions(for: "set \(setting) "), runs) }
        XCTAssertEqual(s.completions(for: "set server s"), ["server"])
        XCTAssertEqual(s.completions(for: "require edge "), runs)
    }

    /// File names: those of the folder typed, of the command's kind, folders with `/`.
    func testFileNames() throws {
        let fm = FileManager.default
        try fm.createDirectory(at: tmp.appendingPathComponent("sub"), withIntermediateDirectories: true)
        for f in ["a.h5", "b.csv", "c.svg", "d.png", "e.txt", ".hidden.h5", "sub/x.csv"] {
            XCTAssertTrue(fm.createFile(atPath: tmp.appendingPathComponent(f).path, contents: Data()))
        }
        let s = Session()
        let dir = tmp.path + "/"
        XCTAssertEqual(s.completions(for: "open \(dir)"), [dir + "a.h5", dir + "sub/"])
        XCTAssertEqual(s.completions(for: "open \(dir)."), [dir + ".hidden.h5"])
        XCTAssertEqual(s.completions(for: "open \(dir)a"), [dir + "a.h5"])
        XCTAssertEqual(s.completions(for: "set out \(dir)"), [dir + "sub/"])
        // Outputs are written under the output folder, and completed there.
        s.outputDirectory = tmp.path
        XCTAssertEqual(s.completions(for: "export "), ["b.csv", "sub/"])
        XCTAssertEqual(s.completions(for: "export sub/"), ["sub/x.csv"])
        XCTAssertEqual(s.completions(for: "export \(dir)sub/"), [dir + "sub/x.csv"])
        XCTAssertEqual(s.completions(for: "plot sweep "), ["c.svg", "sub/"])
        XCTAssertEqual(s.completions(for: "plot hist mean c"), ["c.svg"])
        XCTAssertEqual(s.completions(for: "image 3 "), ["d.png", "sub/"])
        XCTAssertEqual(s.completions(for: "image "), [], "the image's index comes first")
        XCTAssertEqual(s.completions(for: "export nosuchfolder/"), [])
    }

    /// `plot lines` offers the saved results' columns, then the saved results (and @marks).
    func testPlotLinesOffersSavedResults() throws {
        let s = try session()
        _ = try s.execute("sweep gate 0:1:1")
        _ = try s.execute("save grid")
        XCTAssertEqual(s.completions(for: "plot lines comm_c"), ["comm_cost"])
        XCTAssertEqual(s.completions(for: "plot lines comm_cost accuracy g"), ["grid"])
        XCTAssertEqual(s.completions(for: "plot lines comm_cost accuracy grid @"), ["@grid"])
    }

    /// libedit completes the end of a word after a break character such as
    /// `@`; the candidates are cut to that end.
    func testReplacementsOfLibeditsWord() {
        XCTAssertEqual(LineReader.replacements(["@grid"], line: "plot lines x y @g", word: "g"), ["grid"])
        XCTAssertEqual(LineReader.replacements(["sum:"], line: "set rule su", word: "su"), ["sum:"])
        XCTAssertEqual(LineReader.replacements(["eval"], line: "", word: ""), ["eval"])
    }
}
