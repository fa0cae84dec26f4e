import Foundation
import SemComKit
import XCTest

/// Every module's errors carry a kind a caller can switch on (`ErrorKind`),
/// and wrapping them (the REPL) keeps it.
final class ErrorKindTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-kinds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func assertKind(_ expected: ErrorKind, _ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual(ErrorKind(of: error), expected, "\(type(of: error)): \(error)", file: file, line: line)
            XCTAssertFalse("\(error)".contains("\n"), "one line: \(error)", file: file, line: line)
        }
    }

    func testMissingFilesAreNotFound() {
        let missing = tmp.appendingPathComponent("absent").path
        assertKind(.notFound) { _ = try VisionTransformer(weightsPath: missing + ".safetensors") }
        assertKind(.notFound) { _ = try NPY.read(missing + ".npy") }
        assertKind(.notFound) { _ = try Preprocessing().networkInput(contentsOf: missing + ".jpg") }
        assertKind(.notFound) { _ = try ImageList.load(missing) }
        assertKind(.notFound) { _ = try ImageList.load(missing + ".csv") }
        assertKind(.notFound) { _ = try Cache(path: missing + ".h5") }
        assertKind(.notFound) { try Session().open(missing + ".h5") }  // the REPL keeps the cache's kind
    }

    func testDamagedFilesAreCorrupt() throws {
        let junk = tmp.appendingPathComponent("junk")
        try Data("not what it claims".utf8).write(to: junk)
        for ext in ["safetensors", "npy", "jpg", "h5"] {
            try? FileManager.default.removeItem(at: junk.appendingPathExtension(ext))
            try FileManager.default.copyItem(at: junk, to: junk.appendingPathExtension(ext))
        }
        assertKind(.corrupt) { _ = try SafeTensors(path: junk.path + ".safetensors") }
        assertKind(.corrupt) { _ = try NPY.read(junk.path + ".npy") }
        assertKind(.corrupt) { _ = try Preprocessing().networkInput(contentsOf: junk.path + ".jpg") }
        assertKind(.corrupt) { _ = try Cache(path: junk.path + ".h5") }
        try Data("path,label\nimage.jpg,not-a-class\n".utf8).write(to: junk.appendingPathExtension("csv"))
        assertKind(.corrupt) { _ = try ImageList.load(junk.path + ".csv") }
    }

    func testValuesOutOfRangeAreBadValues() {
        assertKind(.badValue) { _ = try SelectionRule.parse("topk:0") }
        assertKind(.badValue) { _ = try Gate.parse("min:-1") }
        assertKind(.badValue) { _ = try ImportanceMeasure.parse("loudest") }
        assertKind(.badValue) { _ = try SafeTensors(path: self.tmp.path) }  // a folder, not a regular file
        assertKind(.badValue) { try Session().execute("set rule sum:2") }
    }
}
