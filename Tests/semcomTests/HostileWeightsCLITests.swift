import Foundation
import Tensors
import XCTest

/// `semcom infer` on hostile weights and arrays: exit status 1 with one line
/// naming the file and the fault, never a trap (132/134/139 or a signal).
final class HostileWeightsCLITests: XCTestCase {
    let tiny3 = repositoryRoot.appendingPathComponent("Tests/Fixtures/vit/tiny3")
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-hostile-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    var inputs: String { tiny3.appendingPathComponent("inputs.npy").path }  // 3 x 3 x 32 x 32
    var goodWeights: String { tiny3.appendingPathComponent("model.safetensors").path }

    /// A `.safetensors` written by hand (header length, JSON header, zero payload).
    func handWritten(_ name: String, header: String, payload: Int) -> String {
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(Data(header.utf8))
        data.append(Data(count: payload))
        let path = tmp.appendingPathComponent(name).path
        FileManager.default.createFile(atPath: path, contents: data)
        return path
    }

    /// Runs `semcom infer` and asserts exit status 1 and one stderr line mentioning `words`.
    func assertInferFails(_ arguments: [String], mentioning words: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let (status, _, stderr) = try runSemcom(["infer", "--threads", "1"] + arguments)
        XCTAssertEqual(status, 1, "exit status 1, not a trap: \(stderr)", file: file, line: line)
        XCTAssertEqual(stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count, 1, stderr, file: file, line: line)
        for w in words { XCTAssertTrue(stderr.contains(w), "'\(stderr)' should mention '\(w)'", file: file, line: line) }
    }

    func testNegativeShape() throws {
        let bad = handWritten("negative.safetensors", header: #"{"cls_token":{"dtype":"F32","shape":[1,-1,48],"data_offsets":[0,192]}}"#, payload: 192)
        try assertInferFails(["--weights", bad, "--inputs", inputs], mentioning: [bad, "tensor 'cls_token'", "negative"])
    }

    func testOverflowingShape() throws {
        let bad = handWritten("overflow.safetensors",
                              header: #"{"cls_token":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904],"data_offsets":[0,16]}}"#,
                              payload: 16)
        try assertInferFails(["--weights", bad, "--inputs", inputs], mentioning: [bad, "tensor 'cls_token'", "overflows"])
    }

    func testOverlappingTensors() throws {
        let bad = handWritten("overlap.safetensors", header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[12,28]}}"#,
                              payload: 28)
        try assertInferFails(["--weights", bad, "--inputs", inputs], mentioning: [bad, "'a'", "'b'", "overlap"])
    }

    func testPatchSizeZero() throws {
        let file = try SafeTensors(path: goodWeights)
        var tensors: [String: Tensor] = [:]
        for n in file.names { tensors[n] = file.tensor(n) }
        tensors["patch_embed.proj.weight"] = Tensor(zeros: [48, 3, 0, 0])
        let bad = tmp.appendingPathComponent("patch0.safetensors").path
        try SafeTensors.write(tensors, metadata: ["num_heads": "3"], to: bad)
        try assertInferFails(["--weights", bad, "--inputs", inputs], mentioning: [bad, "patch_embed.proj.weight", "patch size 0"])
    }

    func testFIFOAsWeightsIsRefusedUnread() throws {
        let fifo = tmp.appendingPathComponent("weights.safetensors").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        // Opening the FIFO with no writer would block forever: returning at all shows it was never opened.
        try assertInferFails(["--weights", fifo, "--inputs", inputs], mentioning: [fifo, "not a regular file (a FIFO (named pipe))"])
        try assertInferFails(["--weights", goodWeights, "--inputs", fifo], mentioning: [fifo, "not a regular file (a FIFO (named pipe))"])
    }

    func testMalformedInputsShape() throws {
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, x, 3, 32, 32), }\n"
        data.append(contentsOf: [UInt8(header.utf8.count), 0])
        data.append(Data(header.utf8))
        data.append(Data(count: 4 * 3 * 3 * 32 * 32))
        let bad = tmp.appendingPathComponent("inputs.npy").path
        FileManager.default.createFile(atPath: bad, contents: data)
        try assertInferFails(["--weights", goodWeights, "--inputs", bad], mentioning: [bad, "field 'shape'", "'x'"])
    }

    func testDuplicateKeptPatchIsAnErrorNamingTheRow() throws {
        let keep = tmp.appendingPathComponent("keep.npy").path
        try NPY.write(int64: [1, 2, 3, 4, 5, 6, 7, 7, 9], shape: [3, 3], to: keep)
        try assertInferFails(["--weights", goodWeights, "--inputs", inputs, "--keep", keep],
                             mentioning: [keep, "row 2", "patch index 7 appears more than once"])
        try NPY.write(int64: [1, 2, 3, 4, 5, 6, 7, 8, 16], shape: [3, 3], to: keep)
        try assertInferFails(["--weights", goodWeights, "--inputs", inputs, "--keep", keep],
                             mentioning: [keep, "row 2", "index 16.0 is not a patch index in 0..<16"])
    }
}
