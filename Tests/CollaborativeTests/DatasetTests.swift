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
        XCTAssertTrue(FileManager.default.createFile(atPath: url.path, contents: Data([0])))
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

    func assertLoadFails(_ source: String, mentioning words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ImageList.load(source), file: file, line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(error is DatasetError, "typed error: \(type(of: error))", file: file, line: line)
            XCTAssertFalse(message.contains("\n"), "one line: \(message)", file: file, line: line)
            for w in words { XCTAssertTrue(message.contains(w), "'\(message)' should mention '\(w)'", file: file, line: line) }
        }
    }

    func testSourcesWithoutImagesAreErrors() throws {
        let empty = tmp.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        assertLoadFails(empty.path, mentioning: [empty.path, "no JPEG or PNG"])
        // Class folders that are all empty (or hold only other files).
        try FileManager.default.createDirectory(at: tmp.appendingPathComponent("tree/cat"), withIntermediateDirectories: true)
        try touch("tree/dog/notes.txt")
        assertLoadFails(tmp.appendingPathComponent("tree").path, mentioning: [tmp.appendingPathComponent("tree").path, "2 class folder(s)"])
        // One non-empty class is enough; an empty class keeps its index.
        try touch("tree/emu/e.jpg")
        XCTAssertEqual(try ImageList.load(tmp.appendingPathComponent("tree").path).labels, [2])
        for (name, text) in [("blank.csv", ""), ("header.csv", "path,label\n"), ("comments.csv", "# nothing\n\n")] {
            let csv = tmp.appendingPathComponent(name).path
            try text.write(toFile: csv, atomically: false, encoding: .utf8)
            assertLoadFails(csv, mentioning: [csv, "no image rows"])
        }
    }

    func testFolderMixingImagesAndSubfoldersIsRefused() throws {
        try touch("mixed/n01440764_a.JPEG"); try touch("mixed/b.png")
        try FileManager.default.createDirectory(at: tmp.appendingPathComponent("mixed/extra"), withIntermediateDirectories: true)
        let mixed = tmp.appendingPathComponent("mixed").path
        assertLoadFails(mixed, mentioning: [mixed, "both image files", "'b.png'", "'extra'"])
        // A class folder holding a subfolder would be half-read too.
        try touch("deep/cat/a.jpg"); try touch("deep/cat/more/b.jpg")
        assertLoadFails(tmp.appendingPathComponent("deep").path, mentioning: [tmp.appendingPathComponent("deep/cat").path, "'more'"])
    }

    func testPathsAreAbsoluteAndStandardised() throws {
        try touch("tree/ant/2.jpg"); try touch("flat/x.jpg")
        try "../flat/x.jpg,1\n./sub/../y.png,\n//abs//z.jpg,2\n".write(toFile: tmp.appendingPathComponent("tree/list.csv").path,
                                                                     atomically: false, encoding: .utf8)
        let fm = FileManager.default
        let previous = fm.currentDirectoryPath
        XCTAssertTrue(fm.changeCurrentDirectoryPath(tmp.appendingPathComponent("flat").path))
        defer { _ = fm.changeCurrentDirectoryPath(previous) }
        let root = URL(fileURLWithPath: tmp.path).standardizedFileURL.path
        XCTAssertEqual(try ImageList.load("../tree/").paths, [root + "/tree/ant/2.jpg"])
        XCTAssertEqual(try ImageList.load(".").paths, [root + "/flat/x.jpg"])
        XCTAssertEqual(try ImageList.load("./../tree/list.csv").paths, [root + "/flat/x.jpg", root + "/tree/y.png", "/abs/z.jpg"])
        assertLoadFails("nowhere", mentioning: [root + "/flat/nowhere", "no such file"])
    }

    func testCSVLabels() throws {
        let path = tmp.appendingPathComponent("labels.csv").path
        try "a.jpg\nb.jpg,\nc.jpg,0\nd.jpg,+7\ne.jpg,2147483647\n".write(toFile: path, atomically: false, encoding: .utf8)
        XCTAssertEqual(try ImageList.load(path).labels, [-1, -1, 0, 7, Int32.max])
        for (row, label) in [("-1", "negative"), ("-5", "negative"), ("2147483648", "0...2147483647"),
                             ("99999999999999999999999", "0...2147483647"), ("-99999999999999999999", "0...2147483647")] {
            try "path,label\nok.jpg,1\nbad.jpg,\(row)\n".write(toFile: path, atomically: false, encoding: .utf8)
            assertLoadFails(path, mentioning: [path, "line 3", "label \(row)", label])
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
