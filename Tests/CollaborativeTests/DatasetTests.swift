import Foundation
import XCTest
@testable import Collaborative

/// Image lists from folders and CSV files; shards.
final class DatasetTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func touch(_ relative: String) throws {
        let url = tmp.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: url.path, contents: Data([0]))
    }

    func testImageFolderWithWnidsUsesImageNetIndices() throws {
        try touch("tree/n01443537/b.JPEG"); try touch("tree/n01443537/a.JPEG"); try touch("tree/n01440764/x.png")
        try touch("tree/n01440764/notes.txt")
        let list = try ImageList.load(tmp.appendingPathComponent("tree").path)
        XCTAssertEqual(list.paths.map { URL(fileURLWithPath: $0).lastPathComponent }, ["x.png", "a.JPEG", "b.JPEG"])
        XCTAssertEqual(list.labels, [0, 1, 1])  // tench 0, goldfish 1
    }

    func testImageFolderWithOtherNamesUsesSortedOrder() throws {
        try touch("tree/zebra/1.jpg"); try touch("tree/ant/2.jpg")
        XCTAssertEqual(try ImageList.load(tmp.appendingPathComponent("tree").path).labels, [0, 1])
    }

    func testFlatFolderOfWnidPrefixedFiles() throws {
        try touch("flat/n01440764_tench.JPEG"); try touch("flat/unknown.jpg")
        let list = try ImageList.load(tmp.appendingPathComponent("flat").path)
        XCTAssertEqual(list.labels, [0, -1])
    }

    func testCSV() throws {
        let csv = "path,label\nimgs/a.jpg,3\n/abs/b.png,n01443537\nc.jpg,\n"
        let path = tmp.appendingPathComponent("list.csv").path
        try csv.write(toFile: path, atomically: false, encoding: .utf8)
        let list = try ImageList.load(path)
        XCTAssertEqual(list.paths, [tmp.path + "/imgs/a.jpg", "/abs/b.png", tmp.path + "/c.jpg"])
        XCTAssertEqual(list.labels, [3, 1, -1])
        try "a.jpg,tiger?\n".write(toFile: path, atomically: false, encoding: .utf8)
        XCTAssertThrowsError(try ImageList.load(path)) { XCTAssertTrue("\($0)".contains("line 1"), "\($0)") }
        XCTAssertThrowsError(try ImageList.load(tmp.appendingPathComponent("none").path)) {
            XCTAssertTrue("\($0)".contains("no such file"), "\($0)")
        }
    }

    func testShardsCoverTheListInOrderOnBatchBoundaries() {
        for (n, count, alignment) in [(10, 3, 4), (100, 7, 16), (5, 8, 1), (50_000, 16, 16)] {
            let ranges = (0..<count).map { ImageList.shardRange($0, of: count, total: n, alignment: alignment) }
            XCTAssertEqual(ranges.first?.lowerBound, 0)
            XCTAssertEqual(ranges.last?.upperBound, n)
            for (a, b) in zip(ranges, ranges.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound) }
            for r in ranges.dropLast() { XCTAssertEqual(r.upperBound % alignment, 0, "\(n) \(count) \(alignment)") }
        }
    }

    func testParetoFront() {
        let cost = [0.1, 0.2, 0.2, 0.3, 0.4, 0.1]
        let acc = [0.5, 0.7, 0.6, 0.7, 0.8, 0.5]
        XCTAssertEqual(paretoFront(cost: cost, accuracy: acc), [true, true, false, false, true, true])
    }

    func testModelSpec() {
        XCTAssertEqual(ModelSpec(parsing: "tiny=deit_tiny_patch16_224:/w/tiny.safetensors"),
                       ModelSpec(name: "tiny", arch: "deit_tiny_patch16_224", weights: "/w/tiny.safetensors"))
        XCTAssertNil(ModelSpec(parsing: "tiny:/w"))
        XCTAssertNil(ModelSpec(parsing: "a/b=auto:x"))
        XCTAssertEqual(ModelSpec(parsing: "low=auto:/w/base.safetensors@56"),
                       ModelSpec(name: "low", arch: "auto", weights: "/w/base.safetensors", lowResolution: 56))
        XCTAssertNil(ModelSpec(parsing: "low=auto:/w/base.safetensors@0"))
    }
}
