import Foundation
import XCTest
@testable import Tensors

/// Kernels against direct (Double) computations, and the file formats.
final class KernelTests: XCTestCase {
    var rng = SplitMix64(seed: 3)
    func randoms(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in scale * rng.nextGaussian() } }

    func testExpAndErfAgainstFoundation() {
        var worstExp = 0.0, worstErf = 0.0
        for x in stride(from: -30.0, through: 30.0, by: 0.01) {
            let v = Float8(repeating: Float(x))
            worstExp = max(worstExp, abs(Double(exp8(v)[0]) - Foundation.exp(Double(Float(x)))) / Foundation.exp(Double(Float(x))))
            worstErf = max(worstErf, abs(Double(erf8(v)[0]) - Foundation.erf(Double(Float(x)))))
        }
        XCTAssertLessThan(worstExp, 3e-7, "exp8 relative error")
        XCTAssertLessThan(worstErf, 3e-7, "erf8 absolute error")
        XCTAssertEqual(exp8(Float8(repeating: -100))[0], 0)
    }

    func testLinearAgainstDirectProduct() {
        for threads in [1, 2] {
            Threads.with(threads) {
                let (m, k, n) = (37, 29, 70)
                let x = randoms(m * k), w = randoms(n * k), b = randoms(n)
                var out = [Float](repeating: 0, count: m * n)
                Kernels.linear(x, rows: m, inFeatures: k, weight: w, outFeatures: n, bias: b, into: &out)
                var gelu = [Float](repeating: 0, count: m * n)
                Kernels.linear(x, rows: m, inFeatures: k, weight: w, outFeatures: n, bias: b, into: &gelu, epilogue: .gelu)
                var acc = [Float](repeating: 1, count: m * n)
                Kernels.linear(x, rows: m, inFeatures: k, weight: w, outFeatures: n, bias: b, into: &acc, accumulate: true)
                for i in 0..<m {
                    for j in 0..<n {
                        let y = (0..<k).reduce(Double(b[j])) { $0 + Double(x[i * k + $1]) * Double(w[j * k + $1]) }
                        XCTAssertEqual(Double(out[i * n + j]), y, accuracy: 1e-4)
                        XCTAssertEqual(Double(acc[i * n + j]), y + 1, accuracy: 1e-4)
                        XCTAssertEqual(Double(gelu[i * n + j]), 0.5 * y * (1 + Foundation.erf(y / 2.0.squareRoot())), accuracy: 1e-4)
                    }
                }
            }
        }
    }

    func testLayerNormAndSoftmax() {
        let (m, c) = (5, 19)
        let x = randoms(m * c, scale: 3), g = randoms(c), b = randoms(c)
        var out = [Float](repeating: 0, count: m * c)
        Kernels.layerNorm(x, rows: m, features: c, gamma: g, beta: b, eps: 1e-6, into: &out)
        var s = x
        Kernels.softmaxRows(&s, rows: m, cols: c)
        for r in 0..<m {
            let row = (0..<c).map { Double(x[r * c + $0]) }
            let mean = row.reduce(0, +) / Double(c)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(c)
            let mx = row.max()!
            let e = row.map { Foundation.exp($0 - mx) }
            let total = e.reduce(0, +)
            for j in 0..<c {
                let ln = (row[j] - mean) / (variance + 1e-6).squareRoot() * Double(g[j]) + Double(b[j])
                XCTAssertEqual(Double(out[r * c + j]), ln, accuracy: 1e-5)
                XCTAssertEqual(Double(s[r * c + j]), e[j] / total, accuracy: 1e-7)
            }
        }
    }

    func testNPYRoundTripAndErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-npy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let t = Tensor(shape: [2, 3, 4], scalars: randoms(24))
        let path = dir.appendingPathComponent("t.npy").path
        try NPY.write(t, to: path)
        XCTAssertEqual(try NPY.readTensor(path), t)
        try NPY.write(int64: [5, -1, 7], shape: [3], to: path)
        let a = try NPY.read(path)
        XCTAssertEqual(a.shape, [3])
        XCTAssertEqual(a.values, [5, -1, 7])
        XCTAssertEqual(a.descr, "<i8")
        FileManager.default.createFile(atPath: path, contents: Data("hello".utf8))
        XCTAssertThrowsError(try NPY.read(path)) { XCTAssertTrue("\($0)".contains("not a .npy"), "\($0)") }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try NPY.write(t, to: path)
        bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        FileManager.default.createFile(atPath: path, contents: bytes.prefix(bytes.count - 8))
        XCTAssertThrowsError(try NPY.read(path)) { XCTAssertTrue("\($0)".contains("truncated"), "\($0)") }
    }
}
