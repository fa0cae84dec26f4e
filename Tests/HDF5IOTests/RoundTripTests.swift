// Write then read back every element type at ranks 0-4, and strings.

import HDF5IO
import XCTest

final class RoundTripTests: HDF5TestCase {
    static let shapes: [[Int]] = [[], [7], [3, 5], [2, 3, 4], [2, 1, 3, 2]]

    /// Writes one dataset per shape, reopens the file and checks values, shape and type.
    func roundTrip<T: HDF5Element>(_ type: T.Type, _ make: (Int) -> T,
                                   file: StaticString = #filePath, line: UInt = #line) throws {
        let path = temporaryPath("\(T.self).h5")
        var expected: [[T]] = []
        do {
            let h5 = try HDF5File.create(path)
            for shape in Self.shapes {
                let values = (0..<shape.reduce(1, *)).map(make)
                expected.append(values)
                try h5.createDataset("rank\(shape.count)", values: values, shape: shape)
            }
        }
        let h5 = try HDF5File.open(path)
        for (shape, values) in zip(Self.shapes, expected) {
            let dataset = try h5.openDataset("rank\(shape.count)")
            XCTAssertEqual(try dataset.elementType, T.hdf5ElementType, file: file, line: line)
            XCTAssertEqual(try dataset.shape, shape, file: file, line: line)
            let array = try dataset.read(as: T.self)
            XCTAssertEqual(array.shape, shape, file: file, line: line)
            XCTAssertEqual(array.values, values, "\(T.self) rank \(shape.count)", file: file, line: line)
        }
    }

    /// Integers covering min, max, zero and a spread of both signs.
    func integers<T: FixedWidthInteger>(_: T.Type) -> (Int) -> T {
        { i in
            switch i % 5 {
            case 0: T.min
            case 1: T.max
            case 2: 0
            default: T(truncatingIfNeeded: i &* 7919 &- 4000)
            }
        }
    }

    /// Floats covering extremes, signed zero, infinity and fractions.
    func floats<T: BinaryFloatingPoint>(_: T.Type) -> (Int) -> T {
        { i in
            switch i % 6 {
            case 0: T.greatestFiniteMagnitude
            case 1: -T.leastNonzeroMagnitude
            case 2: -T.infinity
            case 3: -0.0
            default: T(i) * 0.37 - 5
            }
        }
    }

    func testFloat() throws { try roundTrip(Float.self, floats(Float.self)) }
    func testDouble() throws { try roundTrip(Double.self, floats(Double.self)) }
    func testInt8() throws { try roundTrip(Int8.self, integers(Int8.self)) }
    func testInt16() throws { try roundTrip(Int16.self, integers(Int16.self)) }
    func testInt32() throws { try roundTrip(Int32.self, integers(Int32.self)) }
    func testInt64() throws { try roundTrip(Int64.self, integers(Int64.self)) }
    func testInt() throws { try roundTrip(Int.self, integers(Int.self)) }
    func testUInt8() throws { try roundTrip(UInt8.self, integers(UInt8.self)) }
    func testUInt16() throws { try roundTrip(UInt16.self, integers(UInt16.self)) }
    func testUInt32() throws { try roundTrip(UInt32.self, integers(UInt32.self)) }
    func testUInt64() throws { try roundTrip(UInt64.self, integers(UInt64.self)) }

    func testStrings() throws {
        let samples = ["", "tabby cat", "Ünïcödé — 猫 🐈", "line\nbreak", String(repeating: "x", count: 5000)]
        try roundTrip(String.self) { samples[$0 % samples.count] }
    }

    func testNaNSurvives() throws {
        let path = temporaryPath()
        try HDF5File.create(path).createDataset("nan", values: [Float.nan, 1, -Float.nan])
        let values = try HDF5File.open(path).openDataset("nan").read(as: Float.self).values
        XCTAssertTrue(values[0].isNaN)
        XCTAssertEqual(values[1], 1)
        XCTAssertTrue(values[2].isNaN)
    }

    func testEmptyDataset() throws {
        let path = temporaryPath()
        let h5 = try HDF5File.create(path)
        try h5.createDataset("empty", values: [Float](), shape: [0, 4])
        let array = try h5.openDataset("empty").read(as: Float.self)
        XCTAssertEqual(array.shape, [0, 4])
        XCTAssertEqual(array.values, [])
    }

    func testArraySubscriptIsRowMajor() throws {
        let path = temporaryPath()
        let h5 = try HDF5File.create(path)
        try h5.createDataset("m", values: (0..<24).map(Int32.init), shape: [2, 3, 4])
        let array = try h5.openDataset("m").read(as: Int32.self)
        XCTAssertEqual(array[1, 2, 3], 23)
        XCTAssertEqual(array[1, 0, 2], 14)
    }
}
