// Errors: bad files never crash, a missing object is `.notFound`, messages are one line.

import HDF5IO
import XCTest

final class ErrorTests: HDF5TestCase {
    /// Runs `body`, expecting an `HDF5Error` of `kind`; returns it.
    @discardableResult
    func expectError(_ kind: HDF5Error.Kind, file: StaticString = #filePath, line: UInt = #line,
                     _ body: () throws -> Void) -> HDF5Error? {
        do {
            try body()
            XCTFail("no error, expected \(kind)", file: file, line: line)
        } catch let error as HDF5Error {
            XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
            XCTAssertFalse(error.description.contains("\n"), file: file, line: line)
            return error
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
        return nil
    }

    func testMissingFile() {
        let path = temporaryPath("missing.h5")
        let error = expectError(.fileNotFound) { _ = try HDF5File.open(path) }
        XCTAssertEqual(error?.description, "\(path): /: cannot open file: no such file")
    }

    func testNotAnHDF5File() throws {
        let path = temporaryPath("text.h5")
        try "just some text, not HDF5\n".write(toFile: path, atomically: false, encoding: .utf8)
        expectError(.notHDF5) { _ = try HDF5File.open(path) }
        let empty = temporaryPath("empty.h5")
        XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: Data()))
        expectError(.notHDF5) { _ = try HDF5File.open(empty) }
        expectError(.notHDF5) { _ = try HDF5File.open(self.directory.path) }
        expectError(.notHDF5) { _ = try HDF5File.openOrCreate(path) }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "just some text, not HDF5\n", "not replaced")
    }

    func testTruncatedFile() throws {
        let path = temporaryPath("whole.h5")
        do {
            let h5 = try HDF5File.create(path)
            try h5.createDataset("runs/x", values: (0..<50_000).map(Float.init), shape: [50, 1000])
            try h5.setAttribute("model", to: "deit")
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        for keep in [data.count / 2, 4096, 100, 9] {
            let truncated = temporaryPath("truncated-\(keep).h5")
            try data.prefix(keep).write(to: URL(fileURLWithPath: truncated))
            do {
                let h5 = try HDF5File.open(truncated)
                _ = try h5.openDataset("runs/x").read(as: Float.self)
                XCTFail("truncated file (\(keep) bytes) read without error")
            } catch let error as HDF5Error {
                XCTAssertTrue([.corrupt, .notHDF5].contains(error.kind), "\(keep) bytes: \(error)")
            }
        }
    }

    func testMissingObjectsAreNotFound() throws {
        let path = temporaryPath("cache.h5")
        let h5 = try HDF5File.create(path)
        try h5.createGroup("runs")
        let error = expectError(.notFound) { _ = try h5.openDataset("runs/tiny/logits") }
        XCTAssertEqual(error?.path, "/runs/tiny/logits")
        XCTAssertEqual(error?.description, "\(path): /runs/tiny/logits: cannot open dataset: no such dataset")
        expectError(.notFound) { _ = try h5.openGroup("nope") }
        expectError(.notFound) { _ = try h5.openGroup("runs").openDataset("x") }
    }

    func testWrongType() throws {
        let h5 = try HDF5File.create(temporaryPath())
        let table = try h5.createDataset("table", values: [Int16(1), 2])
        let error = expectError(.typeMismatch) { _ = try table.read(as: Float.self) }
        XCTAssertTrue(error?.reason.contains("dataset holds int16 values, asked for float32 (Float)") ?? false)
        expectError(.typeMismatch) { _ = try table.read(as: UInt16.self) }
        expectError(.typeMismatch) { _ = try table.read(as: String.self, converting: true) }
        expectError(.typeMismatch) { try table.write([Int32(1), 2]) }
        let names = try h5.createDataset("names", values: ["a"])
        expectError(.typeMismatch) { _ = try names.read(as: Int8.self, converting: true) }
        expectError(.typeMismatch) { _ = try table.fillValue(as: Float.self) }
    }

    func testOutOfRangeHyperslab() throws {
        let path = temporaryPath("cache.h5")
        let h5 = try HDF5File.create(path)
        let logits = try h5.createDataset("runs/tiny/logits", of: Float.self, shape: [10, 1000])
        let error = expectError(.outOfRange) { _ = try logits.read(as: Float.self, rows: 12..<14) }
        XCTAssertEqual(error?.description,
                       "\(path): /runs/tiny/logits: cannot read: dataset has shape [10, 1000], asked rows 12..<14")
        expectError(.outOfRange) { _ = try logits.read(as: Float.self, rows: 9..<11) }
        expectError(.outOfRange) { _ = try logits.read(as: Float.self, start: [0, 999], count: [1, 2]) }
        expectError(.outOfRange) { _ = try logits.read(as: Float.self, start: [-1, 0], count: [1, 1]) }
        expectError(.shapeMismatch) { _ = try logits.read(as: Float.self, start: [0], count: [1]) }
        expectError(.outOfRange) { try logits.write([Float](repeating: 0, count: 1000), rows: 10..<11) }
        expectError(.shapeMismatch) { try logits.write([Float](repeating: 0, count: 999), rows: 0..<1) }
        expectError(.shapeMismatch) { try logits.write([Float(1)]) }
        expectError(.outOfRange) { try logits.resize(to: [11, 1000]) }
        expectError(.outOfRange) { try logits.append([Float](repeating: 0, count: 1000)) }
        let growable = try h5.createDataset("g", of: Float.self, shape: [0, 3], maxShape: [nil, 3])
        expectError(.outOfRange) { try growable.resize(to: [1, 4]) }
        expectError(.shapeMismatch) { try growable.resize(to: [1]) }
        expectError(.shapeMismatch) { try growable.append([Float(1), 2]) }
    }

    func testInvalidCreationArguments() throws {
        let h5 = try HDF5File.create(temporaryPath())
        expectError(.invalidArgument) { try h5.createDataset("a", of: Float.self, shape: [-1]) }
        expectError(.invalidArgument) { try h5.createDataset("b", of: Float.self, shape: [4], maxShape: [2]) }
        expectError(.invalidArgument) { try h5.createDataset("c", of: Float.self, shape: [4, 4], chunks: [2]) }
        expectError(.invalidArgument) { try h5.createDataset("d", of: Float.self, shape: [4], deflate: 10) }
        expectError(.invalidArgument) { try h5.createDataset("e", of: String.self, shape: [4], fillValue: "?") }
        expectError(.shapeMismatch) { try h5.createDataset("f", values: [Float(1), 2, 3], shape: [2, 2]) }
        XCTAssertEqual(try h5.members(), [], "nothing half-created")
    }

    func testHDF5MessageIsAttached() throws {
        let path = temporaryPath()
        let h5 = try HDF5File.create(path)
        try h5.createDataset("x", values: [Int8(1)])
        h5.close()
        let readOnly = try HDF5File.open(path)
        let error = expectError(.library) { try readOnly.openDataset("x").write([Int8(2)]) }
        XCTAssertNotNil(error?.hdf5Message)
        XCTAssertTrue(error?.description.contains("(HDF5: ") ?? false, "\(String(describing: error))")
    }
}
