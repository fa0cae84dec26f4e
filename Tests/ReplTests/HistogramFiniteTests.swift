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

    func testRangeCoversNegativeScores() {
        XCTAssertEqual(histogramRange([[0.5, 2], [1]]), 0...2)
        XCTAssertEqual(histogramRange([[-1, 0.5]]), -1...0.5)
        XCTAssertEqual(histogramRange([[0, 0]]), 0...1e-12)
        XCTAssertEqual(histogramRange([[]]), 0...1)
    }
}
