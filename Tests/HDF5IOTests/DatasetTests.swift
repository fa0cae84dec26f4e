// Chunking, compression, partial I/O, resizing, appending, fill values, conversion.

import HDF5IO
import XCTest

final class DatasetTests: HDF5TestCase {
    func testChunkedCompressedRoundTripIsSmaller() throws {
        let path = temporaryPath()
        let values = (0..<100_000).map { Float($0 % 100) }
        do {
            let h5 = try HDF5File.create(path)
            let dataset = try h5.createDataset("z", of: Float.self, shape: [100, 1000], chunks: [10, 1000],
                                               deflate: 6, shuffle: true)
            try dataset.write(values)
            XCTAssertEqual(try dataset.chunkShape, [10, 1000])
            XCTAssertEqual(try dataset.deflateLevel, 6)
            let plain = try h5.createDataset("plain", values: [Float](repeating: 0, count: 4))
            XCTAssertNil(try plain.chunkShape)
            XCTAssertNil(try plain.deflateLevel)
        }
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        XCTAssertLessThan(size, 100_000 * 4 / 10, "deflate should shrink repetitive data")
        let array = try HDF5File.open(path).openDataset("z").read(as: Float.self)
        XCTAssertEqual(array.shape, [100, 1000])
        XCTAssertEqual(array.values, values)
    }

    func testDefaultChunksForGrowableDataset() throws {
        let h5 = try HDF5File.create(temporaryPath())
        let dataset = try h5.createDataset("logits", of: Float.self, shape: [0, 1000], maxShape: [nil, 1000])
        let chunks = try XCTUnwrap(try dataset.chunkShape)
        XCTAssertEqual(chunks[1], 1000, "whole rows per chunk")
        XCTAssertGreaterThanOrEqual(chunks[0], 1)
        XCTAssertEqual(try dataset.maxShape, [nil, 1000])
        let compressed = try h5.createDataset("c", of: Int16.self, shape: [10, 3], deflate: 4)
        XCTAssertEqual(try compressed.chunkShape, [10, 3])
    }

    func testPartialReadAndWriteOfRows() throws {
        let path = temporaryPath()
        let h5 = try HDF5File.create(path)
        let dataset = try h5.createDataset("t", of: Int32.self, shape: [6, 4])
        try dataset.write((0..<24).map(Int32.init))
        try dataset.write((100..<108).map(Int32.init), rows: 2..<4)
        let rows = try dataset.read(as: Int32.self, rows: 1..<4)
        XCTAssertEqual(rows.shape, [3, 4])
        XCTAssertEqual(rows.values, [4, 5, 6, 7, 100, 101, 102, 103, 104, 105, 106, 107])
        XCTAssertEqual(try dataset.read(as: Int32.self, rows: 5..<5).shape, [0, 4])
    }

    func testPartialReadAndWriteOfBlock() throws {
        let h5 = try HDF5File.create(temporaryPath())
        let dataset = try h5.createDataset("cube", of: Double.self, shape: [3, 4, 5])
        try dataset.write((0..<60).map(Double.init))
        try dataset.write([Double(-1), -2, -3, -4], start: [1, 2, 3], count: [1, 2, 2])
        let block = try dataset.read(as: Double.self, start: [1, 1, 2], count: [2, 2, 2])
        XCTAssertEqual(block.shape, [2, 2, 2])
        // [1,1,2]=27 [1,1,3]=28 [1,2,2]=32 [1,2,3]=-1 [2,1,2]=47 [2,1,3]=48 [2,2,2]=52 [2,2,3]=53
        XCTAssertEqual(block.values, [27, 28, 32, -1, 47, 48, 52, 53])
        XCTAssertEqual(try dataset.read(as: Double.self, start: [1, 2, 4], count: [1, 2, 1]).values, [-2, -4])
    }

    func testResizeAndAppendWithFillValue() throws {
        let path = temporaryPath("cache.h5")
        do {
            let h5 = try HDF5File.create(path)
            let table = try h5.createDataset("runs/tiny/top5", of: Int16.self, shape: [0, 5], maxShape: [nil, 5],
                                             chunks: [4, 5], deflate: 1, fillValue: -1)
            XCTAssertEqual(try table.fillValue(as: Int16.self), -1)
            XCTAssertEqual(try table.append((0..<10).map(Int16.init)), 0..<2)
            XCTAssertEqual(try table.append((10..<15).map(Int16.init)), 2..<3)
            try table.resize(to: [5, 5])
            XCTAssertEqual(try table.shape, [5, 5])
        }
        let h5 = try HDF5File.open(path, mode: .readWrite)
        let table = try h5.openDataset("/runs/tiny/top5")
        let all = try table.read(as: Int16.self)
        XCTAssertEqual(all.shape, [5, 5])
        XCTAssertEqual(Array(all.values[0..<15]), (0..<15).map(Int16.init))
        XCTAssertEqual(Array(all.values[15...]), [Int16](repeating: -1, count: 10), "unwritten rows read as fill")
        try table.resize(to: [1, 5])
        XCTAssertEqual(try table.read(as: Int16.self).values, [0, 1, 2, 3, 4])
        XCTAssertNil(try h5.createDataset("nofill", of: Int16.self, shape: [2]).fillValue(as: Int16.self))
    }

    func testGrowingBothDimensions() throws {
        let h5 = try HDF5File.create(temporaryPath())
        let grid = try h5.createDataset("g", of: UInt8.self, shape: [1, 1], maxShape: [nil, nil], fillValue: 9)
        try grid.write([UInt8(1)])
        try grid.resize(to: [2, 3])
        XCTAssertEqual(try grid.read(as: UInt8.self).values, [1, 9, 9, 9, 9, 9])
    }

    func testStringDatasetPartialAndAppend() throws {
        let h5 = try HDF5File.create(temporaryPath())
        let names = try h5.createDataset("names", of: String.self, shape: [0], maxShape: [nil])
        try names.append(["a", "bb"])
        try names.append(["ccc"])
        try names.write(["B"], rows: 1..<2)
        XCTAssertEqual(try names.read(as: String.self).values, ["a", "B", "ccc"])
        XCTAssertEqual(try names.read(as: String.self, rows: 1..<3).values, ["B", "ccc"])
        XCTAssertEqual(try names.elementType, .string)
    }

    func testConvertingReadIsOptIn() throws {
        let h5 = try HDF5File.create(temporaryPath())
        let dataset = try h5.createDataset("i16", values: [Int16(-3), 7, 300])
        XCTAssertEqual(try dataset.read(as: Float.self, converting: true).values, [-3, 7, 300])
        XCTAssertEqual(try dataset.read(as: Int8.self, converting: true).values, [-3, 7, 127], "clamped")
        try dataset.write([Double(1.5), 2, 3], converting: true)
        XCTAssertEqual(try dataset.read(as: Int16.self).values, [1, 2, 3])
    }

    func testScalarDataset() throws {
        let h5 = try HDF5File.create(temporaryPath())
        let scalar = try h5.createDataset("pi", of: Double.self, shape: [])
        try scalar.write([Double.pi])
        XCTAssertEqual(try scalar.shape, [])
        XCTAssertEqual(try scalar.read(as: Double.self), HDF5Array(values: [Double.pi], shape: []))
    }

    /// The usage example of HDF5IO.swift, run twice as a cache filled over two runs.
    func testOverviewExample() throws {
        let path = temporaryPath("cache.h5")
        for run in 0..<2 {
            let batchLogits = (0..<2000).map { Float($0 + run) }
            let file = try HDF5File.openOrCreate(path)
            let group = try file.requireGroup("runs/tiny")
            try group.setAttribute("weights_sha256", to: "abc123")
            let logits = try group.contains("logits")
                ? group.openDataset("logits")
                : group.createDataset("logits", of: Float.self, shape: [0, 1000], maxShape: [nil, 1000], deflate: 4)
            let rows = try logits.append(batchLogits)
            XCTAssertEqual(rows, (2 * run)..<(2 * run + 2))
            let back = try logits.read(as: Float.self, rows: rows)
            XCTAssertEqual(back.shape, [2, 1000])
            XCTAssertEqual(back.values, batchLogits)
        }
        XCTAssertEqual(try HDF5File.open(path).openDataset("runs/tiny/logits").shape, [4, 1000])
    }

    func testThreadsShareTheLibrarySafely() throws {
        let path = temporaryPath()
        let h5 = try HDF5File.create(path)
        for i in 0..<8 { try h5.createDataset("d\(i)", values: [Int32](repeating: Int32(i), count: 1000)) }
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            do {
                let values = try h5.openDataset("d\(i % 8)").read(as: Int32.self).values
                if values != [Int32](repeating: Int32(i % 8), count: 1000) { failures.add("wrong values \(i)") }
                try h5.setAttribute("a\(i % 8)", to: Int32(i))
            } catch { failures.add("\(error)") }
        }
        XCTAssertEqual(failures.list, [])
    }
}

/// Collects messages from several threads.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []
    func add(_ message: String) { lock.lock(); messages.append(message); lock.unlock() }
    var list: [String] { lock.lock(); defer { lock.unlock() }; return messages }
}
