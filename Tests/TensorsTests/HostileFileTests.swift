import Foundation
import XCTest
@testable import Tensors

/// Hostile `.safetensors` and `.npy` files: each is refused with one line
/// naming the file and the fault, never a trap or a hang.
final class HostileFileTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// A `.safetensors` written by hand: 8-byte little-endian header length, `header` as JSON, `payload` bytes.
    func safetensors(_ header: String, payload: Int) -> String {
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(Data(header.utf8))
        data.append(Data(count: payload))
        let path = dir.appendingPathComponent("bad-\(UUID().uuidString).safetensors").path
        FileManager.default.createFile(atPath: path, contents: data)
        return path
    }

    /// A version-1 `.npy` with header dict `header` and `payload` zero bytes.
    func npy(_ header: String, payload: Int) -> String {
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let n = header.utf8.count
        data.append(contentsOf: [UInt8(n & 0xff), UInt8(n >> 8)])
        data.append(Data(header.utf8))
        data.append(Data(count: payload))
        let path = dir.appendingPathComponent("bad-\(UUID().uuidString).npy").path
        FileManager.default.createFile(atPath: path, contents: data)
        return path
    }

    func assertFails(_ path: String, _ load: (String) throws -> Void, mentioning words: [String],
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try load(path), file: file, line: line) { error in
            let message = "\(error)"
            XCTAssertFalse(message.contains("\n"), "one line: \(message)", file: file, line: line)
            XCTAssertTrue(message.hasPrefix(path + ": "), "names the file: \(message)", file: file, line: line)
            for w in words { XCTAssertTrue(message.contains(w), "'\(message)' should mention '\(w)'", file: file, line: line) }
        }
    }

    func assertSafeTensorsFails(_ path: String, mentioning words: [String], file: StaticString = #filePath, line: UInt = #line) {
        assertFails(path, { _ = try SafeTensors(path: $0) }, mentioning: words, file: file, line: line)
    }

    func assertNPYFails(_ path: String, mentioning words: [String], file: StaticString = #filePath, line: UInt = #line) {
        assertFails(path, { _ = try NPY.read($0) }, mentioning: words, file: file, line: line)
    }

    // MARK: checked sizes

    func testCheckedSize() throws {
        XCTAssertEqual(try checkedSize(of: [2, 3], elementSize: 4).count, 6)
        XCTAssertEqual(try checkedSize(of: [2, 3], elementSize: 4).bytes, 24)
        XCTAssertEqual(try checkedSize(of: [], elementSize: 2).bytes, 2)
        XCTAssertThrowsError(try checkedSize(of: [2, -3], elementSize: 4)) { XCTAssertTrue("\($0)".contains("dimension 1"), "\($0)") }
        XCTAssertThrowsError(try checkedSize(of: [1 << 40, 1 << 40], elementSize: 1)) { XCTAssertTrue("\($0)".contains("overflows"), "\($0)") }
        XCTAssertThrowsError(try checkedSize(of: [1 << 31, 1 << 31], elementSize: 4)) { XCTAssertTrue("\($0)".contains("byte size"), "\($0)") }
    }

    // MARK: .safetensors

    func testSafeTensorsNegativeShape() {
        let path = safetensors(#"{"w":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,16]}}"#, payload: 16)
        assertSafeTensorsFails(path, mentioning: ["tensor 'w'", "field 'shape'", "negative"])
    }

    func testSafeTensorsOverflowingShape() {
        let path = safetensors(#"{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}}"#, payload: 16)
        assertSafeTensorsFails(path, mentioning: ["tensor 'w'", "field 'shape'", "overflows"])
        let bytes = safetensors(#"{"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,16]}}"#, payload: 16)
        assertSafeTensorsFails(bytes, mentioning: ["tensor 'w'", "byte size", "overflows"])
    }

    func testSafeTensorsOverlappingOffsets() {
        let path = safetensors(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#,
                               payload: 24)
        assertSafeTensorsFails(path, mentioning: ["'a'", "'b'", "0..<16", "8..<24", "overlap"])
    }

    func testSafeTensorsFractionalOffset() {
        let path = safetensors(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}"#, payload: 8)
        assertSafeTensorsFails(path, mentioning: ["tensor 'a'", "data offset 2", "element size 4"])
    }

    func testSafeTensorsRangeNotMatchingShape() {
        let path = safetensors(#"{"a":{"dtype":"F16","shape":[3],"data_offsets":[0,8]}}"#, payload: 8)
        assertSafeTensorsFails(path, mentioning: ["tensor 'a'", "needs 6 bytes", "0..<8"])
    }

    func testSafeTensorsRangeOutsidePayload() {
        let path = safetensors(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[16,32]}}"#, payload: 20)
        assertSafeTensorsFails(path, mentioning: ["tensor 'a'", "truncated", "byte"])
        let descending = safetensors(#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}"#, payload: 20)
        assertSafeTensorsFails(descending, mentioning: ["tensor 'a'", "data_offsets [8, 4]"])
    }

    func testSafeTensorsMalformedEntries() {
        let shape = safetensors(#"{"a":{"dtype":"F32","shape":[2,"x"],"data_offsets":[0,8]}}"#, payload: 8)
        assertSafeTensorsFails(shape, mentioning: ["tensor 'a'", "field 'shape'", "list of integers"])
        let fraction = safetensors(#"{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}"#, payload: 8)
        assertSafeTensorsFails(fraction, mentioning: ["tensor 'a'", "field 'shape'"])
        let offsets = safetensors(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}}"#, payload: 8)
        assertSafeTensorsFails(offsets, mentioning: ["tensor 'a'", "field 'data_offsets'", "3 numbers"])
        let missing = safetensors(#"{"a":{"dtype":"F32","shape":[2]}}"#, payload: 8)
        assertSafeTensorsFails(missing, mentioning: ["tensor 'a'", "lacks field 'data_offsets'"])
        let notObject = safetensors(#"{"a":7}"#, payload: 8)
        assertSafeTensorsFails(notObject, mentioning: ["tensor 'a'", "not a JSON object"])
        let dtype = safetensors(#"{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, payload: 8)
        assertSafeTensorsFails(dtype, mentioning: ["tensor 'a'", "dtype I64"])
        let metadata = safetensors(#"{"__metadata__":{"num_heads":3}}"#, payload: 0)
        assertSafeTensorsFails(metadata, mentioning: ["'__metadata__'", "strings to strings"])
    }

    func testSafeTensorsHugeHeaderLength() {
        var data = Data()
        withUnsafeBytes(of: UInt64.max.littleEndian) { data.append(contentsOf: $0) }
        data.append(Data("{}".utf8))
        let path = dir.appendingPathComponent("huge.safetensors").path
        FileManager.default.createFile(atPath: path, contents: data)
        assertSafeTensorsFails(path, mentioning: ["header length \(UInt64.max) at byte 0"])
    }

    func testSafeTensorsEmptyTensorsMayShareAnOffset() throws {
        let path = safetensors(#"{"a":{"dtype":"F32","shape":[0,3],"data_offsets":[4,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
                               payload: 8)
        let file = try SafeTensors(path: path)
        XCTAssertEqual(file.tensor("a")?.shape, [0, 3])
        XCTAssertEqual(file.tensor("b")?.scalars, [0, 0])
    }

    // MARK: only regular files

    func testFIFOAndDirectoryAreRefusedUnread() throws {
        let fifo = dir.appendingPathComponent("weights.safetensors").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        // Opening a FIFO for reading with no writer would block: a refusal proves it was never opened.
        assertSafeTensorsFails(fifo, mentioning: ["not a regular file", "a FIFO"])
        assertNPYFails(fifo, mentioning: ["not a regular file", "a FIFO"])
        assertSafeTensorsFails(dir.path, mentioning: ["not a regular file", "a folder"])
        assertNPYFails("/dev/zero", mentioning: ["not a regular file", "a character device"])
    }

    // MARK: .npy

    func testNPYNegativeShape() {
        assertNPYFails(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }\n", payload: 0),
                       mentioning: ["field 'shape'", "dimension 0", "negative"])
    }

    func testNPYOverflowingShape() {
        assertNPYFails(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }\n", payload: 0),
                       mentioning: ["field 'shape'", "overflows"])
        assertNPYFails(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }\n", payload: 0),
                       mentioning: ["field 'shape'", "'99999999999999999999'", "not an integer"])
    }

    func testNPYMalformedShapeTuple() {
        for (shape, entry) in [("(2, x, 3, 64, 64)", "'x'"), ("(2,,3)", "''"), ("(2 3)", "'2 3'"), ("(,)", "''")] {
            assertNPYFails(npy("{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }\n", payload: 4 * 2 * 3 * 64 * 64),
                           mentioning: ["field 'shape' \(shape)", "entry \(entry)", "not an integer"])
        }
        assertNPYFails(npy("{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], }\n", payload: 24),
                       mentioning: ["field 'shape'", "not a tuple"])
    }

    func testNPYWellFormedShapes() throws {
        XCTAssertEqual(try NPY.read(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }\n", payload: 4)).shape, [])
        XCTAssertEqual(try NPY.read(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }\n", payload: 20)).shape, [5])
        XCTAssertEqual(try NPY.read(npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3,), }\n", payload: 48)).shape, [2, 3])
        XCTAssertEqual(try NPY.read(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 1099511627776), }\n", payload: 0)).shape,
                       [0, 1 << 40])
    }

    func testNPYDataSizeMustMatch() {
        assertNPYFails(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", payload: 28),
                       mentioning: ["trailing data", "needs 24 bytes", "file has 28"])
        assertNPYFails(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", payload: 20),
                       mentioning: ["truncated data", "needs 24 bytes", "file has 20"])
    }

    func testNPYUnsupportedDtypeBeforeAllocating() {
        // An element size of 0 would make any count "fit"; it is refused before the shape is used.
        assertNPYFails(npy("{'descr': '<f0', 'fortran_order': False, 'shape': (1099511627776,), }\n", payload: 0),
                       mentioning: ["unsupported dtype <f0"])
        assertNPYFails(npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }\n", payload: 4), mentioning: ["unsupported dtype >f4"])
        assertNPYFails(npy("{'descr': '<U4', 'fortran_order': False, 'shape': (1,), }\n", payload: 16), mentioning: ["unsupported dtype <U4"])
    }

    func testNPYHeaderLongerThanFile() {
        var data = Data([0x93] + Array("NUMPY".utf8) + [2, 0, 0xff, 0xff, 0xff, 0xff])
        data.append(Data("{'descr'".utf8))
        let path = dir.appendingPathComponent("long.npy").path
        FileManager.default.createFile(atPath: path, contents: data)
        assertNPYFails(path, mentioning: ["truncated header", "header length 4294967295"])
    }

    func testNPYHeaderNotText() {
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, 4, 0, 0xff, 0xfe, 0xfd, 0x0a])
        data.append(Data(count: 4))
        let path = dir.appendingPathComponent("binary.npy").path
        FileManager.default.createFile(atPath: path, contents: data)
        assertNPYFails(path, mentioning: ["header (bytes 10..<14) is not UTF-8 text"])
    }
}
