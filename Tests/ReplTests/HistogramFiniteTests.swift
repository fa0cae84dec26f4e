import Collaborative
import Foundation
import HDF5IO
import Tensors
import ViT
import XCTest
@testable import Repl

/// `histogram` and `plot hist` on scores holding NaN or infinity: an error
/// naming the cache, the run, the dataset and the row, and the session goes on.
final class HistogramFiniteTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-hist-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    /// A cache of one random ViT ("tiny", 196 patches) over two images, whose `mean` scores get `bad` at flat indices 3 and 5.
    func cache(with bad: Float) throws -> String {
        let c = ViTConfig(embedDim: 24, depth: 1, numHeads: 2, numClasses: 4)
        let weights = tmp.appendingPathComponent("tiny.safetensors").path
        try SafeTensors.write(ViTWeights.random(c, seed: 5, std: 0.3).timmTensors(c), metadata: ["num_heads": "2"], to: weights)
        let dir = Self.root.appendingPathComponent("Tests/Fixtures/imaging").path
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".jpg") }.sorted().prefix(2)
        let path = tmp.appendingPathComponent("c.h5").path
        var builder = CacheBuilder(images: ImageList(paths: files.map { dir + "/" + $0 }, labels: [0, 1]),
                                   models: [ModelSpec(name: "tiny", arch: "auto", weights: weights)])
        builder.batch = 2
        try builder.build(path)
        let file = try HDF5File.open(path, mode: .readWrite)
        let d = try file.openDataset("/runs/tiny/importance/mean")
        var v = try d.read(as: Float.self).values
        v[3] = bad
        v[5] = bad
        try d.write(v)
        try file.flush()
        return path
    }

    func testNonFiniteScoresAreAnErrorNotACrash() throws {
        for bad in [Float.nan, .infinity, -.infinity] {
            let s = Session()
            s.outputDirectory = tmp.path
            let path = try cache(with: bad)
            try s.open(path)
            _ = try s.execute("set encoder tiny")
            for command in ["histogram mean", "histogram rollout mean", "plot hist mean h.svg"] {
                XCTAssertThrowsError(try s.execute(command), "\(bad): \(command)") { error in
                    XCTAssertEqual("\(error)", "\(path): run 'tiny': importance/mean of row 0 holds \(bad): a damaged cache", "\(bad): \(command)")
                }
            }
            // The session goes on; finite measures still work.
            XCTAssertNoThrow(try s.execute("histogram rollout"))
            XCTAssertNoThrow(try s.execute("plot hist rollout textbook h.svg"))
            XCTAssertTrue(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("h.svg").path))
            try FileManager.default.removeItem(at: tmp.appendingPathComponent("c.h5"))
        }
    }

    /// Issue 12 item 1: the authors' binning, against a direct count: 100
    /// bins over [0, 1.96 / P], fractions of all scores, the last edge in the
    /// last bin, scores above it in none.
    func testScoreHistogramIsTheAuthorsBinning() {
        var rng = SystemRandomNumberGenerator()
        let p = 196
        let scores: [Float] = (0..<(50 * p)).map { _ in Float.random(in: 0..<0.03, using: &rng) } + [0, 0.01, 0.5]
        let h = ScoreHistogram(scores: scores, upper: ScoreHistogram.defaultUpper(patches: p))
        XCTAssertEqual(h.edges.count, 101)
        XCTAssertEqual(h.edges.last!, 0.01, accuracy: 1e-15)
        XCTAssertEqual(h.count, scores.count)
        for b in 0..<100 {
            let (lo, hi) = (h.edges[b], h.edges[b + 1])
            let direct = scores.filter { Double($0) >= lo && (Double($0) < hi || (b == 99 && Double($0) <= hi)) }.count
            XCTAssertEqual(h.fractions[b], Double(direct) / Double(scores.count), "bin \(b)")
        }
        let above = scores.filter { Double($0) > 0.01 }.count
        XCTAssertEqual(h.outsideRange, Double(above) / Double(scores.count))
        XCTAssertEqual(h.fractions.reduce(0, +) + h.outsideRange, 1, accuracy: 1e-12)
    }

    /// `histogram` tabulates the cache's scores with the same bins, and says what fell outside.
    func testHistogramCommandTabulatesTheCachesScores() throws {
        let s = Session()
        let path = try cache(with: 0.001)
        try s.open(path)
        _ = try s.execute("set encoder tiny")
        _ = try s.execute("histogram mean rollout")
        let t = try XCTUnwrap(s.last)
        XCTAssertEqual(t.columns, ["bin_start", "bin_end", "fraction_mean", "fraction_rollout"])
        XCTAssertEqual(t.rows.count, 100)
        let h = try Cache(path: path).scoreHistogram("tiny", measure: .mean)
        XCTAssertEqual(t.numbers("fraction_mean"), h.fractions)
        XCTAssertTrue(t.notes.joined().contains("fractions of all 392 patch scores"), "\(t.notes)")
    }
}
