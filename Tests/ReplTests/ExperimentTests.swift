import Collaborative
import ExperimentScripts
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Tensors
import ViT
import Wire
import XCTest
@testable import Repl

/// Every script in Experiments/ against a small fixture cache (runs tiny,
/// small, base: random ViTs over real image files); CSVs checked against a
/// direct evaluation, SVGs parsed as XML.
final class ExperimentTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The scripts built into the library are the files of Experiments/, name for name and byte for byte.
    func testBundledScriptsAreTheExperimentsFolder() throws {
        let folder = Self.root.appendingPathComponent("Experiments").path
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".semcom") }.sorted()
        XCTAssertEqual(Experiments.bundled.map(\.name), files)
        for (name, text) in Experiments.bundled {
            XCTAssertEqual(text, try String(contentsOfFile: folder + "/" + name, encoding: .utf8), name)
        }
        XCTAssertEqual(Experiments.named("fig08")?.name, "fig08.semcom")
        XCTAssertNil(Experiments.named("fig99"))
    }

    func testEveryExperimentScript() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-exp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        var models: [ModelSpec] = []
        for (name, d, heads, seed) in [("phone", 24, 2, UInt64(11)), ("medium", 32, 2, 12), ("cloud", 48, 3, 13)] {
            let c = ViTConfig(embedDim: d, depth: 1, numHeads: heads, numClasses: 4)
            let path = tmp.appendingPathComponent("\(name).safetensors").path
            try SafeTensors.write(ViTWeights.random(c, seed: seed, std: 0.3).timmTensors(c), metadata: ["num_heads": "\(heads)"], to: path)
            models.append(ModelSpec(name: name, arch: "auto", weights: path))
        }
        models.append(ModelSpec(name: "cloud_at_112px", arch: "auto", weights: models[2].weights, lowResolution: 112))
        models.append(ModelSpec(name: "cloud_jpeg50", arch: "auto", weights: models[2].weights))
        models[models.count - 1].jpegQuality = 50
        let dir = Self.root.appendingPathComponent("Tests/Fixtures/imaging").path
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".jpg") }.sorted().prefix(4)
        let images = ImageList(paths: files.map { dir + "/" + $0 }, labels: [0, 1, 2, 3])
        let cachePath = tmp.appendingPathComponent("c.h5").path
        var builder = CacheBuilder(images: images, models: models)
        builder.batch = 4
        builder.threads = 2
        builder.codecs = [.jpeg(quality: 50), .jpeg(quality: 90)]  // bytes.semcom's
        try builder.build(cachePath)

        // No run bears a script's default name (tiny, base, small): the runs come from the roles.
        XCTAssertEqual(try Cache(path: cachePath).runRoles(), [.edge: "phone", .smallServer: "medium", .server: "cloud", .lowResolution: "cloud_at_112px", .jpegBaseline: "cloud_jpeg50"])
        let scripts = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("Experiments").path)
            .filter { $0.hasSuffix(".semcom") }.sorted()
        XCTAssertEqual(scripts.count, 14)
        let out = tmp.appendingPathComponent("out").path
        for script in scripts {
            let s = Session()
            s.outputDirectory = out
            try s.open(cachePath)
            XCTAssertNoThrow(try s.runScript(Self.root.appendingPathComponent("Experiments/\(script)").path) { _ in }, script)
        }
        let written = try FileManager.default.contentsOfDirectory(atPath: out)
        for expected in ["table1.csv", "table2.csv", "table3.csv", "fig07.svg", "fig08.svg", "fig08_grid.csv", "fig09.svg",
                         "fig10.svg", "fig11.svg", "fig11_hist.svg", "fig12.svg", "fig13.svg", "fig14.svg", "fig15.svg",
                         "fig16.svg", "bytes.svg", "fig04_0_edge.png", "fig04_2_server.png", "fig07_log.svg", "fig13_with_selection.svg"] {
            XCTAssertTrue(written.contains(expected), "missing \(expected)")
        }
        /// A CSV as columns of numbers by name.
        func columns(_ file: String) throws -> [String: [Double]] {
            let lines = try String(contentsOfFile: out + "/" + file, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
            return Dictionary(uniqueKeysWithValues: lines[0].enumerated().map { j, name in (name, lines.dropFirst().map { Double($0[j]) ?? .nan }) })
        }
        // Fig. 13 sends whole images: the cost is the fraction sent.
        for file in ["fig13_min.csv", "fig13_shannon.csv"] {
            let c = try columns(file)
            XCTAssertEqual(c["comm_cost"]!, c["sent_fraction"]!, file)
            XCTAssertGreaterThan(Set(c["sent_fraction"]!).count, 2, file)
        }
        // Fig. 7 has the authors' 100 bins over [0, 1.96 / 196].
        let fig07 = try columns("fig07.csv")
        XCTAssertEqual(fig07["bin_start"]!.count, 100)
        XCTAssertEqual(fig07["bin_end"]!.last!, 0.01, accuracy: 1e-12)
        for svg in written where svg.hasSuffix(".svg") {
            let parser = XMLParser(data: try Data(contentsOf: URL(fileURLWithPath: out + "/" + svg)))
            XCTAssertTrue(parser.parse(), "\(svg) is not well-formed XML")
        }

        // Table II and Fig. 8's operating point against a direct evaluation.
        // (Writable, as the sessions opened it: HDF5 refuses one file open in two modes in a process.)
        let evaluator = Evaluator(cache: try Cache(path: cachePath))
        let rows = try String(contentsOfFile: out + "/table2.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        XCTAssertEqual(rows.count, 10)
        for row in rows {
            let f = row.split(separator: ",").map { Double($0)! }
            let r = try evaluator.evaluate(Setting(edge: "phone", server: "cloud", rule: .sum(f[0]), gate: .none))
            XCTAssertEqual(f[1], r.patchesPerSent, accuracy: 1e-4)
            XCTAssertEqual(f[3], r.accuracy, accuracy: 1e-4)
        }
        let fig08 = try String(contentsOfFile: out + "/fig08_default.csv", encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        let r = try evaluator.evaluate(Setting(edge: "phone", server: "cloud"))
        // Full precision in the CSV: the exact Doubles.
        XCTAssertEqual(Double(fig08[1][fig08[0].firstIndex(of: "accuracy")!])!, r.accuracy)
        XCTAssertEqual(Double(fig08[1][fig08[0].firstIndex(of: "comm_cost")!])!, r.commCost)

        // Fig. 10's low-resolution point, and its series in the figure.
        let low = try String(contentsOfFile: out + "/fig10_lowres.csv", encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        XCTAssertEqual(low.count, 2)
        XCTAssertEqual(Array(low[1].prefix(2)), ["cloud_at_112px", "112"])
        let lr = try evaluator.evaluate(Setting(edge: "phone", server: "cloud_at_112px", rule: .topK(10), gate: .none))
        XCTAssertEqual(Double(low[1][low[0].firstIndex(of: "accuracy")!])!, lr.accuracy, accuracy: 1e-4)
        XCTAssertEqual(Double(low[1][low[0].firstIndex(of: "comm_cost")!])!, 0.25, accuracy: 1e-4)
        XCTAssertTrue(try String(contentsOfFile: out + "/fig10.svg", encoding: .utf8).contains("low resolution"))

        // Issue 12 item 10: Fig. 15 draws the full-image latency beside the collaborative one,
        // Fig. 16 has an x-axis title and worded parts, titles name architectures, Figs. 4-6 have a caption band.
        let fig15 = try SVGText(try String(contentsOfFile: out + "/fig15.svg", encoding: .utf8))
        XCTAssertEqual(fig15.legend, ["collaborative (edge + uplink + server)", "full image to server (server only)"])
        let fig16 = try SVGText(try String(contentsOfFile: out + "/fig16.svg", encoding: .utf8))
        XCTAssertEqual(fig16.texts["x-title"], "uplink rate (Mbit/s)")
        XCTAssertEqual(fig16.legend, ["edge compute", "uplink transfer", "server compute"])
        let fig08svg = try SVGText(try String(contentsOfFile: out + "/fig08.svg", encoding: .utf8))
        let cache = try Cache(path: cachePath)
        XCTAssertEqual(fig08svg.texts["subtitle"], "\(try cache.run("phone").architecture) → \(try cache.run("cloud").architecture)")
        XCTAssertEqual(fig08svg.texts["x-title"], "communication cost (fraction of patches sent)")
        XCTAssertEqual(fig08svg.legend, ["all settings", "Pareto front"], "saved names in words")
        let png = try Data(contentsOf: URL(fileURLWithPath: out + "/fig04_0_edge.png"))
        let size = { (at: Int) in png[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        XCTAssertGreaterThan(size(20), size(16) / 2, "a caption band under the two square panels")

        // A script that needs a run the cache lacks says which.
        let s = Session()
        try s.open(cachePath)
        s.variables["server"] = "huge"
        XCTAssertThrowsError(try s.runScript(Self.root.appendingPathComponent("Experiments/fig08.semcom").path) { _ in }) {
            XCTAssertTrue("\($0)".contains("needs run(s) huge"), "\($0)")
            XCTAssertTrue("\($0)".contains("pass --set server=RUN with RUN one of its runs"), "\($0)")
        }
    }

    /// The grids a cache's patch count gives the scripts: the paper's for 196.
    func testGridsFollowThePatchCount() {
        XCTAssertEqual(Session.grids(patches: 196), ["ks": "10:190:20", "ks_fine": "10:196:10", "taus": "0.0005:0.0205:0.001"])
        XCTAssertEqual(Session.grids(patches: 64), ["ks": "3:64:7", "ks_fine": "3:64:3", "taus": "0.001531:0.062781:0.003063"])
    }

    /// Roles by size, given roles first.
    func testRolesAreInferredBySizeUnlessGiven() {
        let runs: [(name: String, parameters: Int, baseline: RunRole?)] = [("a", 10, nil), ("b", 30, nil), ("c", 20, nil), ("b_low", 30, .lowResolution),
                                                                           ("d", 15, nil), ("b_jpeg", 30, .jpegBaseline)]
        XCTAssertEqual(RunRole.inferred(runs), ["a": .edge, "b": .server, "c": .smallServer, "b_low": .lowResolution, "b_jpeg": .jpegBaseline])
        XCTAssertEqual(RunRole.inferred(runs, taken: ["c": .server]), ["a": .edge, "b": .smallServer, "b_low": .lowResolution, "b_jpeg": .jpegBaseline])
    }
}
