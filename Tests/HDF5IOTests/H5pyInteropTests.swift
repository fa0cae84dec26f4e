// Interoperability with h5py: files written here read there, and back.
// Skipped (XCTSkip) when `/usr/bin/python3 -c "import h5py, numpy"` fails (Debian's
// python3, for which make test installs python3-h5py and python3-numpy).

import Foundation
import HDF5IO
import XCTest

final class H5pyInteropTests: HDF5TestCase {
    /// Runs `/usr/bin/python3 -c script args...`; returns the exit status and the merged stdout/stderr.
    static func python(_ script: String, _ arguments: [String] = []) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["/usr/bin/python3", "-c", script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static let h5pyAvailable: Bool = (try? python("import h5py, numpy").status == 0) ?? false

    override func setUpWithError() throws {
        try super.setUpWithError()
        try XCTSkipUnless(Self.h5pyAvailable, "h5py and numpy are not importable by /usr/bin/python3")
    }

    /// Runs a Python check script against `path`, failing the test with its output unless it prints OK.
    func runCheck(_ script: String, _ path: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let (status, output) = try Self.python(script, [path])
        XCTAssertEqual(status, 0, output, file: file, line: line)
        XCTAssertTrue(output.contains("OK"), output, file: file, line: line)
    }

    func testSwiftWritesH5pyReads() throws {
        let path = temporaryPath("from-swift.h5")
        do {
            let h5 = try HDF5File.create(path)
            try h5.setAttribute("format_version", to: 2)
            try h5.setAttribute("model", to: "deit_tiny")
            try h5.setAttribute("mean", to: [0.485, 0.456, 0.406])
            try h5.setAttribute("labels", to: ["tabby", "Ünï"])
            let floats = try h5.createDataset("floats", values: (0..<6).map { Float($0) * 0.5 }, shape: [2, 3])
            try floats.setAttribute("units", to: "logits")
            try floats.setAttribute("scale", to: Float(0.5))
            let runs = try h5.requireGroup("runs")
            try runs.setAttribute("count", to: Int32(7))
            let top5 = try runs.createDataset("tiny/top5", of: Int16.self, shape: [0, 5], maxShape: [nil, 5],
                                              chunks: [4, 5], deflate: 4, fillValue: -1)
            try top5.append((0..<10).map(Int16.init))
            try top5.resize(to: [3, 5])
            try h5.createDataset("names", values: ["cat", "Ünï"])
            try h5.createDataset("scalar", of: Double.self, shape: []).write([Double.pi])
            try h5.createDataset("types/int8", values: [Int8.min, 0, Int8.max])
            try h5.createDataset("types/int16", values: [Int16.min, 0, Int16.max])
            try h5.createDataset("types/int32", values: [Int32.min, 0, Int32.max])
            try h5.createDataset("types/int64", values: [Int64.min, 0, Int64.max])
            try h5.createDataset("types/uint8", values: [UInt8.min, 1, UInt8.max])
            try h5.createDataset("types/uint16", values: [UInt16.min, 1, UInt16.max])
            try h5.createDataset("types/uint32", values: [UInt32.min, 1, UInt32.max])
            try h5.createDataset("types/uint64", values: [UInt64.min, 1, UInt64.max])
            try h5.createDataset("types/float64", values: [-1.5, 0, 1e300])
            try h5.createDataset("rank4", values: (0..<24).map(Float.init), shape: [1, 2, 3, 4])
        }
        try runCheck("""
            import sys, math, h5py, numpy as np
            f = h5py.File(sys.argv[1], "r")
            assert f.attrs["format_version"] == 2 and f.attrs["format_version"].dtype == np.int64
            assert f.attrs["model"] == "deit_tiny", repr(f.attrs["model"])
            assert list(f.attrs["mean"]) == [0.485, 0.456, 0.406]
            assert list(f.attrs["labels"]) == ["tabby", "Ünï"], repr(f.attrs["labels"])
            d = f["floats"]
            assert d.dtype == np.float32 and d.shape == (2, 3)
            assert (d[()] == np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5).all()
            assert d.attrs["units"] == "logits" and d.attrs["scale"] == 0.5 and d.attrs["scale"].dtype == np.float32
            assert f["runs"].attrs["count"] == 7 and f["runs"].attrs["count"].dtype == np.int32
            t = f["runs/tiny/top5"]
            assert t.dtype == np.int16 and t.shape == (3, 5) and t.maxshape == (None, 5) and t.chunks == (4, 5)
            assert t.compression == "gzip" and t.compression_opts == 4 and t.fillvalue == -1
            assert (t[()] == np.array([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [-1] * 5])).all(), t[()]
            n = f["names"]
            assert h5py.check_string_dtype(n.dtype).encoding == "utf-8"
            assert list(n.asstr()[()]) == ["cat", "Ünï"] and n[0] == b"cat"
            s = f["scalar"]
            assert s.shape == () and s[()] == math.pi
            for name in ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]:
                dt = np.dtype(name); ds = f["types/" + name]; info = np.iinfo(dt)
                assert ds.dtype == dt, (name, ds.dtype)
                expected = [info.min, 0, info.max] if info.min < 0 else [0, 1, info.max]
                assert list(ds[()]) == expected, (name, ds[()])
            assert f["types/float64"].dtype == np.float64 and list(f["types/float64"][()]) == [-1.5, 0, 1e300]
            r = f["rank4"]
            assert r.shape == (1, 2, 3, 4) and r[0, 1, 2, 3] == 23 and r[0, 1, 0, 2] == 14
            print("OK")
            """, path)
    }

    func testH5pyWritesSwiftReads() throws {
        let path = temporaryPath("from-h5py.h5")
        try runCheck("""
            import sys, h5py, numpy as np
            with h5py.File(sys.argv[1], "w") as f:
                f["f32"] = np.arange(12, dtype=np.float32).reshape(3, 4) / 4
                for name in ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]:
                    info = np.iinfo(name)
                    f["types/" + name] = np.array([info.min, 1, info.max], dtype=name)
                f["types/float64"] = np.array([-2.5, 0, 1e-300])
                f["bigendian"] = np.array([1, -2, 3], dtype=">i4")
                f.create_dataset("big", data=np.arange(1000, dtype=np.int16).reshape(100, 10), chunks=(10, 10),
                                 compression="gzip", compression_opts=5, maxshape=(None, 10), fillvalue=-1)
                f.create_dataset("vstr", data=["cat", "Ünï"], dtype=h5py.string_dtype())
                f.create_dataset("fstr", data=np.array([b"ab", b"cde"], dtype="S5"))
                f["scalar"] = 2.5
                f.attrs["model"] = "deit"
                f.attrs["version"] = np.int64(3)
                f.attrs["mean"] = np.array([0.5, 0.25], dtype=np.float32)
                f.attrs["fixed"] = np.bytes_(b"fixed")
                f.attrs["labels"] = ["a", "bc"]
                f.create_group("g/h").attrs["n"] = np.int32(7)
            print("OK")
            """, path)
        let h5 = try HDF5File.open(path)
        let f32 = try h5.openDataset("f32").read(as: Float.self)
        XCTAssertEqual(f32.shape, [3, 4])
        XCTAssertEqual(f32.values, (0..<12).map { Float($0) / 4 })
        XCTAssertEqual(try h5.openDataset("types/int8").read(as: Int8.self).values, [.min, 1, .max])
        XCTAssertEqual(try h5.openDataset("types/int16").read(as: Int16.self).values, [.min, 1, .max])
        XCTAssertEqual(try h5.openDataset("types/int32").read(as: Int32.self).values, [.min, 1, .max])
        XCTAssertEqual(try h5.openDataset("types/int64").read(as: Int64.self).values, [.min, 1, .max])
        XCTAssertEqual(try h5.openDataset("types/uint8").read(as: UInt8.self).values, [0, 1, .max])
        XCTAssertEqual(try h5.openDataset("types/uint16").read(as: UInt16.self).values, [0, 1, .max])
        XCTAssertEqual(try h5.openDataset("types/uint32").read(as: UInt32.self).values, [0, 1, .max])
        XCTAssertEqual(try h5.openDataset("types/uint64").read(as: UInt64.self).values, [0, 1, .max])
        XCTAssertEqual(try h5.openDataset("types/float64").read(as: Double.self).values, [-2.5, 0, 1e-300])
        XCTAssertEqual(try h5.openDataset("bigendian").read(as: Int32.self).values, [1, -2, 3])
        let big = try h5.openDataset("big")
        XCTAssertEqual(try big.chunkShape, [10, 10])
        XCTAssertEqual(try big.deflateLevel, 5)
        XCTAssertEqual(try big.maxShape, [nil, 10])
        XCTAssertEqual(try big.fillValue(as: Int16.self), -1)
        XCTAssertEqual(try big.read(as: Int16.self, rows: 98..<100).values, (980..<1000).map(Int16.init))
        XCTAssertEqual(try h5.openDataset("vstr").read(as: String.self).values, ["cat", "Ünï"])
        XCTAssertEqual(try h5.openDataset("fstr").read(as: String.self).values, ["ab", "cde"])
        let scalar = try h5.openDataset("scalar").read(as: Double.self)
        XCTAssertEqual(scalar, HDF5Array(values: [2.5], shape: []))
        XCTAssertEqual(try h5.attribute("model", as: String.self), "deit")
        XCTAssertEqual(try h5.attribute("version", as: Int64.self), 3)
        XCTAssertEqual(try h5.attributeValues("mean", as: Float.self), [0.5, 0.25])
        XCTAssertEqual(try h5.attribute("fixed", as: String.self), "fixed")
        XCTAssertEqual(try h5.attributeValues("labels", as: String.self), ["a", "bc"])
        XCTAssertEqual(try h5.openGroup("g/h").attribute("n", as: Int32.self), 7)
        XCTAssertEqual(try h5.members(), ["big", "bigendian", "f32", "fstr", "g", "scalar", "types", "vstr"])
    }
}
