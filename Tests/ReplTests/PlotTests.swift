import Collaborative
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Tensors
import ViT
import XCTest
@testable import Repl

/// Issue 12 item 10: plots name what they plot (a saved name, `last`, or
/// the latest of their kind, never another kind), label series and axes in
/// words with units, title with the runs' architectures; Fig. 15's full-image
/// line; Figs. 4-6's caption band.
final class PlotTests: XCTestCase {
    var tmp: URL!
    var cachePath = ""

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-plot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        var models: [ModelSpec] = []
        for (name, d, heads, seed) in [("phone", 24, 2, UInt64(21)), ("cloud", 48, 3, 22)] {
            let c = ViTConfig(embedDim: d, depth: 1, numHeads: heads, numClasses: 4)
            let path = tmp.appendingPathComponent("\(name).safetensors").path
            try SafeTensors.write(ViTWeights.random(c, seed: seed, std: 0.3).timmTensors(c), metadata: ["num_heads": "\(heads)"], to: path)
            models.append(ModelSpec(name: name, arch: "auto", weights: path))
        }
        let dir = ExperimentTests.root.appendingPathComponent("Tests/Fixtures/imaging").path
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".jpg") }.sorted().prefix(4)
        cachePath = tmp.appendingPathComponent("c.h5").path
        var builder = CacheBuilder(images: ImageList(paths: files.map { dir + "/" + $0 }, labels: [0, 1, 2, 3]), models: models)
        builder.batch = 4
        try builder.build(cachePath)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func session() throws -> Session {
        let s = Session()
        s.outputDirectory = tmp.path
        try s.open(cachePath)
        return s
    }

    func svg(_ file: String) throws -> String { try String(contentsOfFile: tmp.path + "/" + file, encoding: .utf8) }

    /// `plot sweep` after `eval` or `pareto`: the latest sweep, or a line saying there is none; `last` and names must be of the kind.
    func testPlotsNameWhatTheyPlot() throws {
        let s = try session()
        _ = try s.execute("eval")
        XCTAssertThrowsError(try s.execute("plot sweep a.svg")) {
            XCTAssertEqual("\($0)", "plot sweep: no sweep result yet (the last result is a table from 'eval' (1 row); nothing saved); run 'sweep' or name a saved sweep result")
        }
        XCTAssertThrowsError(try s.execute("plot sweep last a.svg")) { XCTAssertTrue("\($0)".hasPrefix("plot sweep: the last result is a table from 'eval' (1 row), not from 'sweep'"), "\($0)") }
        _ = try s.execute("save point")
        _ = try s.execute("sweep rule 0.5:0.9:0.2 gate 0,5")
        _ = try s.execute("save grid")
        _ = try s.execute("pareto")
        let front = s.last!.rows.count
        XCTAssertThrowsError(try s.execute("plot sweep last a.svg")) {
            XCTAssertTrue("\($0)".contains("the last result is a table from 'pareto' (\(front) row"), "\($0)")
            XCTAssertTrue("\($0)".contains("saved: grid (sweep), point (eval)"), "\($0)")
        }
        XCTAssertThrowsError(try s.execute("plot sweep point a.svg")) { XCTAssertTrue("\($0)".contains("'point' is a table from 'eval' (1 row), not from 'sweep'"), "\($0)") }
        XCTAssertThrowsError(try s.execute("plot sweep nothing a.svg")) { XCTAssertTrue("\($0)".contains("no saved result 'nothing'"), "\($0)") }
        XCTAssertThrowsError(try s.execute("plot latency a.svg")) { XCTAssertTrue("\($0)".hasPrefix("plot latency: no latency result yet"), "\($0)") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.path + "/a.svg"), "a refused plot writes nothing")
        // Without a name after pareto: the sweep, all 3 x 2 settings, and its front.
        _ = try s.execute("plot sweep a.svg")
        let points = try pointsByName(try svg("a.svg"))
        XCTAssertEqual(points["every (rule, gate) setting"], 6)
        XCTAssertEqual(points["Pareto front"], front)
        _ = try s.execute("plot sweep grid b.svg")
        XCTAssertEqual(try svg("b.svg"), try svg("a.svg"), "by name: the same sweep")
        _ = try s.execute("plot pareto last c.svg")
        XCTAssertEqual(try pointsByName(try svg("c.svg")), ["Pareto front": front])
    }

    /// Series and axes in words with units; the subtitle names the runs' architectures, not their roles.
    func testLatencyPlotsInWords() throws {
        let s = try session()
        let cache = s.cache!
        let models = "\(try cache.run("phone").architecture) → \(try cache.run("cloud").architecture)"
        XCTAssertTrue(models.contains("D=24") && models.contains("D=48"), models)
        _ = try s.execute("latency 1,8,20")
        _ = try s.execute("save lat")
        _ = try s.execute("plot latency lat f16.svg")
        let f16 = try SVGText(try svg("f16.svg"))
        XCTAssertEqual(f16.legend, ["edge compute", "uplink transfer", "server compute"])
        XCTAssertEqual(f16.texts["x-title"], "uplink rate (Mbit/s)")
        XCTAssertEqual(f16.texts["y-title"], "latency per image (ms)")
        XCTAssertEqual(f16.texts["subtitle"], models)
        // Fig. 15: the full-image (server-only) line beside the collaborative one, each at its own column's values.
        _ = try s.execute("plot lines uplink_mbps latency_ms,full_image_ms lat f15.svg")
        let f15 = try SVGText(try svg("f15.svg"))
        XCTAssertEqual(f15.legend, ["collaborative (edge + uplink + server)", "full image to server (server only)"])
        XCTAssertEqual(f15.texts["y-title"], "latency per image (ms)")
        XCTAssertEqual(f15.texts["x-title"], "uplink rate (Mbit/s)")
        let full = s.saved["lat"]!.numbers("full_image_ms")!, collaborative = s.saved["lat"]!.numbers("latency_ms")!
        XCTAssertTrue(zip(full, collaborative).allSatisfy { $0 != $1 }, "two different lines")
        // The full image's line is higher at 1 Mbit/s where its pixels cost the most: its first point is drawn above (smaller y).
        XCTAssertEqual(f15.polylines.count, 2)
        XCTAssertEqual(f15.polylines[1].first!.1 < f15.polylines[0].first!.1, full[0] > collaborative[0])
        // A user's title stays; plots with no title get a worded default.
        _ = try s.execute("set title Fig. 16 & more")
        _ = try s.execute("plot latency f16b.svg")
        XCTAssertEqual(try SVGText(try svg("f16b.svg")).texts["title"], "Fig. 16 & more")
        XCTAssertEqual(try SVGText(try svg("f15.svg")).texts["title"], "Latency per image vs uplink rate")
        XCTAssertThrowsError(try s.execute("plot lines uplink_mbps latency_ms,bogus_ms lat f.svg")) { XCTAssertTrue("\($0)".contains("no column bogus_ms"), "\($0)") }
        XCTAssertThrowsError(try s.execute("plot lines uplink_mbps latency_ms lost f.svg")) {
            XCTAssertEqual("\($0)", "plot lines: no saved result 'lost' (the last result is a table from 'latency' (3 rows); saved: lat (latency); use 'save lost' after a command)")
        }
        _ = try s.execute("plot lines uplink_mbps latency_ms,full_image_ms last f15last.svg")
        XCTAssertEqual(try SVGText(try svg("f15last.svg")).polylines.map { $0.map(\.1) }, f15.polylines.map { $0.map(\.1) }, "last: the same table")
    }

    /// Every column the experiment scripts plot has words and a unit, from the one table.
    func testColumnWords() {
        for column in ["accuracy", "comm_cost", "latency_ms", "edge_ms", "uplink_ms", "server_ms", "full_image_ms", "uplink_mbps", "sent_fraction", "bin_start"] {
            XCTAssertFalse(columnDocs[column]?.unit.isEmpty ?? true, column)
            XCTAssertFalse(columnDocs[column]!.series.contains("_"), column)
        }
        XCTAssertEqual(words("edge_ms").series, "edge compute")
        XCTAssertEqual(words("comm_cost").axis, "communication cost (fraction of patches sent)")
        XCTAssertEqual(words("new_column").axis, "new column")
        XCTAssertEqual(axisTitle(["edge_ms", "server_ms"]), "latency per image (ms)")
    }

    /// Figs. 4-6: the overlay PNG is taller than its two panels by the caption band.
    func testImageOverlayHasACaptionBand() throws {
        let s = try session()
        let text = try s.execute("image 1 o.png")
        // The server's answer on the kept patches: the memo's entry for (image 1, its k), computed by 'image'.
        let onKept = try s.evaluator!.serverTopFive(s.setting, image: 1)
        let p = try s.cache!.run(s.setting.server).numPatches
        let k = try s.evaluator!.keptPatches(s.setting.rule, ordering: s.setting.ordering, patches: p)[1]
        let memo = try MemoTable.stored(MemoTable.key(server: s.setting.server, ordering: s.setting.ordering), in: Cache(path: s.cache!.path))
        XCTAssertEqual(onKept.count, 4, "every class of 4, best first")
        XCTAssertEqual(onKept[0], Int(memo[1 * (p + 1) + k]), "stored by the image command")
        XCTAssertTrue(text.contains("on the kept patches: class \(onKept[0])"), text)
        let caption = try overlayCaption(s.cache!, s.setting, image: 1, kept: k, of: p, serverClass: onKept[0])
        XCTAssertTrue(caption[4].hasPrefix("server: class \(onKept[0]) on kept"), caption[4])
        XCTAssertTrue(caption[0].hasPrefix("image 1, true class: class 1"), caption[0])
        XCTAssertTrue(caption[1].contains("min-entropy") && caption[1].contains("bits"), caption[1])
        XCTAssertTrue(caption[2].hasPrefix(text.contains("sent") ? "sent to the server" : "kept on the edge"), caption[2])
        let png = try Data(contentsOf: URL(fileURLWithPath: tmp.path + "/o.png"))
        let size = { (at: Int) in png[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        let (w, h) = (size(16), size(20))
        XCTAssertEqual(w % 2, 0)
        XCTAssertGreaterThan(h, w / 2 + 60, "the band adds at least 7 lines of text under the \(w / 2) px panels: \(w) x \(h)")
    }

    func pointsByName(_ svg: String) throws -> [String: Int] {
        try SVGText(svg).points.reduce(into: [:]) { $0[$1, default: 0] += 1 }
    }
}

/// An SVG read back: texts by class, legend names, point series names, polyline points.
struct SVGText {
    var texts: [String: String] = [:], legend: [String] = [], points: [String] = [], polylines: [[(Double, Double)]] = []

    init(_ svg: String) throws {
        final class Reader: NSObject, XMLParserDelegate {
            var texts: [String: String] = [:], legend: [String] = [], points: [String] = [], polylines: [[(Double, Double)]] = []
            var textClass: String?, text = ""
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes a: [String: String] = [:]) {
                if name == "text" { textClass = a["class"]; text = "" }
                if name == "circle", a["class"] == "point", let n = a["data-name"] { points.append(n) }
                if name == "polyline", let p = a["points"] {
                    polylines.append(p.split(separator: " ").map { let xy = $0.split(separator: ","); return (Double(xy[0])!, Double(xy[1])!) })
                }
            }
            func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
            func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
                guard name == "text", let c = textClass else { return }
                if c == "legend" { legend.append(text) } else { texts[c] = text }
                textClass = nil
            }
        }
        let parser = XMLParser(data: Data(svg.utf8)), r = Reader()
        parser.delegate = r
        guard parser.parse() else { throw ReplError("not well-formed XML") }
        (texts, legend, points, polylines) = (r.texts, r.legend, r.points, r.polylines)
    }
}
