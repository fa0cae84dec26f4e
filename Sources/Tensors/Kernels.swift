import COpenBLAS
import Foundation

/// The numerical kernels of a ViT forward pass, on raw row-major Float
/// buffers owned by the caller (so a forward pass can reuse its buffers).
///
/// Letters: M rows (tokens over the batch), K input features, N output
/// features. Linear weights use PyTorch's layout, out x in (N x K).
public enum Kernels {
    /// What `linear` applies to its output block, in the same pass over the threads.
    public enum Epilogue: Sendable {
        case none
        /// Exact GELU: g(u) = u/2 (1 + erf(u / sqrt 2)).
        case gelu
    }

    /// out[M x N] = x[M x K] · weightᵀ + bias[N] (or `out +=` that when
    /// `accumulate`), then the `epilogue`; weight is N x K (PyTorch linear
    /// layout). The output columns are split over the threads, each calling
    /// BLAS single-threaded.
    public static func linear(
        _ x: UnsafePointer<Float>, rows m: Int, inFeatures k: Int,
        weight: UnsafePointer<Float>, outFeatures n: Int, bias: UnsafePointer<Float>?,
        into out: UnsafeMutablePointer<Float>, accumulate: Bool = false,
        epilogue: Epilogue = .none
    ) {
        let lo = n, lx = k  // row strides of out and x
        let blocks = (n + 15) / 16
        parallelFor(blocks, costPerItem: 2 * 16 * m * k) { range in
            let n0 = range.lowerBound * 16, n1 = min(n, range.upperBound * 16)
            // The bias goes in first, so that BLAS accumulates onto it (beta = 1 skips its own pass over C).
            for r in 0..<m {
                let row = out + r * lo + n0
                if !accumulate {
                    if let bias { row.update(from: bias + n0, count: n1 - n0) } else { row.update(repeating: 0, count: n1 - n0) }
                } else if let bias {
                    add(bias + n0, into: row, count: n1 - n0)
                }
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n1 - n0), Int32(k),
                        1, x, Int32(lx), weight + n0 * k, Int32(k), 1, out + n0, Int32(lo))
            if case .gelu = epilogue {
                for r in 0..<m { gelu(out + r * lo + n0, count: n1 - n0) }
            }
        }
    }

    /// out[M x N] = alpha · a[M x K] · b (b is K x N, or N x K when `transposeB`).
    /// Strides `lda`, `ldb`, `ldc` allow addressing one head inside a wider row.
    public static func matmul(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into c: UnsafeMutablePointer<Float>,
        m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int,
        transposeB: Bool = false, alpha: Float = 1
    ) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
    }

    /// y[i] += x[i] for i < count.
    @inline(__always)
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            let s = Float8(UnsafeBufferPointer(start: x + i, count: 8)) + Float8(UnsafeBufferPointer(start: y + i, count: 8))
            store(s, y + i)
            i += 8
        }
        while i < count { y[i] += x[i]; i += 1 }
    }

    /// LayerNorm over the last dimension: out[r] = (x[r] - mean) / sqrt(var + eps) * gamma + beta,
    /// for M rows of C features (biased variance, as PyTorch). `out` may equal `x`.
    public static func layerNorm(_ x: UnsafePointer<Float>, rows m: Int, features c: Int,
                                 gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, eps: Float,
                                 into out: UnsafeMutablePointer<Float>) {
        parallelFor(m, costPerItem: 4 * c) { range in
            for r in range {
                let row = x + r * c, dst = out + r * c
                let mean = sum(row, c) / Float(c)
                var acc = Float8(), i = 0
                while i + 8 <= c {
                    let d = load(row + i) - mean
                    acc += d * d
                    i += 8
                }
                var tail: Float = 0
                while i < c { let d = row[i] - mean; tail += d * d; i += 1 }
                let variance = (acc.sum() + tail) / Float(c)
                let inv = 1 / (variance + eps).squareRoot()
                i = 0
                while i + 8 <= c {
                    store((load(row + i) - mean) * inv * load(gamma + i) + load(beta + i), dst + i)
                    i += 8
                }
                while i < c { dst[i] = (row[i] - mean) * inv * gamma[i] + beta[i]; i += 1 }
            }
        }
    }

    /// Exact GELU in place: x[i] = x[i]/2 (1 + erf(x[i] / sqrt 2)).
    @inline(__always)
    public static func gelu(_ x: UnsafeMutablePointer<Float>, count n: Int) {
        var i = 0
        while i + 8 <= n {
            let u = load(x + i)
            store(0.5 * u * (1 + erf8(u * 0.707_106_78)), x + i)
            i += 8
        }
        while i < n {
            x[i] = 0.5 * x[i] * (1 + Float(Foundation.erf(Double(x[i]) * 0.707_106_781_186_547_5)))
            i += 1
        }
    }

    /// Softmax of each row in place: x[r, j] = e^(x[r, j] - max) / sum_j e^(x[r, j] - max),
    /// on an M x N block. Runs on the calling thread.
    public static func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows m: Int, cols n: Int) {
        let ld = n
        for r in 0..<m {
            let row = x + r * ld
            var m8 = Float8(repeating: -.infinity), j = 0
            while j + 8 <= n {
                let v = load(row + j)
                m8.replace(with: v, where: v .> m8)
                j += 8
            }
            var mx = m8.max()
            while j < n { mx = max(mx, row[j]); j += 1 }
            var acc = Float8()
            j = 0
            while j + 8 <= n {
                let e = exp8(load(row + j) - mx)
                store(e, row + j)
                acc += e
                j += 8
            }
            var total = acc.sum()
            while j < n { let e = Float(Foundation.exp(Double(row[j] - mx))); row[j] = e; total += e; j += 1 }
            let inv = 1 / total
            j = 0
            while j + 8 <= n { store(load(row + j) * inv, row + j); j += 8 }
            while j < n { row[j] *= inv; j += 1 }
        }
    }

    /// Sum of `count` values.
    @inline(__always)
    public static func sum(_ x: UnsafePointer<Float>, _ count: Int) -> Float {
        var acc = Float8(), i = 0
        while i + 8 <= count { acc += load(x + i); i += 8 }
        var s = acc.sum()
        while i < count { s += x[i]; i += 1 }
        return s
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Float8 {
        UnsafeRawPointer(p).loadUnaligned(as: Float8.self)
    }

    @inline(__always)
    static func load(_ p: UnsafeMutablePointer<Float>) -> Float8 { load(UnsafePointer(p)) }

    @inline(__always)
    static func store(_ v: Float8, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Float8.self)
    }
}
