import Tensors

/// What a forward pass returns.
public struct ViTOutput: Sendable {
    /// B x C class scores.
    public var logits: Tensor
    /// B x L x H x T: the class token's attention probabilities in every
    /// layer and head, over the T tokens that entered the encoder.
    public var classAttention: Tensor
    /// B x L x H x T x T: every layer's attention probabilities, with
    /// `storeAttention: true` only (what attention rollout needs; `Importance`).
    public var attention: Tensor?
}

extension ViTOutput {
    /// Index in the batch of the first image whose logits or attention (class-token, and every layer's when present) hold a NaN or an infinity; nil when all are finite.
    public func firstNonFiniteImage() -> Int? {
        var first: Int?
        for t in [logits, classAttention, attention].compactMap({ $0 }) where t.count > 0 {
            guard let flat = t.firstNonFiniteIndex else { continue }
            let image = flat / (t.count / t.shape[0])
            first = min(first ?? image, image)
        }
        return first
    }
}

/// A plain ViT (DeiT) on the CPU: BLAS for every matrix product, SIMD for
/// the rest. Not safe to run from two threads at once (it reuses buffers).
public final class VisionTransformer {
    public let config: ViTConfig
    public let weights: ViTWeights
    private var buffers = Buffers()

    public init(config: ViTConfig, weights: ViTWeights) {
        self.config = config
        self.weights = weights
    }

    /// Loads `.safetensors` weights (timm or transformers layout); see `ViTWeights.load`.
    public convenience init(weightsPath: String, expected: ViTConfig? = nil, heads: Int? = nil) throws {
        let (c, w) = try ViTWeights.load(path: weightsPath, expected: expected, heads: heads)
        self.init(config: c, weights: w)
    }

    /// Runs the model on `images` (B x 3 x S x S, normalised).
    ///
    /// - Parameters:
    ///   - keep: optional kept patch indices per image (0-based over the P
    ///     patches, the same count K for every image of the batch). Kept
    ///     patches keep their own position embedding, prefix tokens are always
    ///     kept, the rest are dropped before the first block (T = 1 + K).
    ///   - storeAttention: also return every layer's attention matrices
    ///     (`ViTOutput.attention`, B x L x H x T x T: what rollout needs).
    public func forward(_ images: Tensor, keep: [[Int]]? = nil, storeAttention: Bool = false) -> ViTOutput {
        let c = config
        let b = images.shape[0]
        precondition(images.shape == [b, 3, c.imageSize, c.imageSize],
                     "input shape \(images.shape), model expects [B, 3, \(c.imageSize), \(c.imageSize)]")
        let patchIndex = keep ?? Array(repeating: Array(0..<c.numPatches), count: b)
        precondition(patchIndex.count == b, "keep lists \(patchIndex.count) images, batch has \(b)")
        let k = patchIndex.first?.count ?? 0
        precondition(patchIndex.allSatisfy { $0.count == k && $0.allSatisfy { (0..<c.numPatches).contains($0) } },
                     "every image of a batch must keep the same number of patches, each index in 0..<\(c.numPatches)")
        let t = c.prefixTokens + k
        buffers.reserve(c, batch: b, tokens: t, patches: k, storeAttention: storeAttention)

        let classAttention = buffers.withPointers { p -> Tensor in
            images.scalars.withUnsafeBufferPointer { img in
                embed(img.baseAddress!, patchIndex, b: b, k: k, p)
            }
            var classAttention = Tensor(zeros: [b, c.depth, c.numHeads, t])
            classAttention.scalars.withUnsafeMutableBufferPointer { cls in
                for (l, block) in weights.blocks.enumerated() {
                    run(block, layer: l, b: b, t: t, p, classRows: cls.baseAddress!, storeAttention: storeAttention)
                }
            }
            return classAttention
        }
        let logits = buffers.withPointers { p in head(b: b, t: t, p) }
        var output = ViTOutput(logits: logits, classAttention: classAttention)
        if storeAttention {
            let shape = [b, c.depth, c.numHeads, t, t]
            output.attention = Tensor(shape: shape, scalars: buffers.attention(count: shape.reduce(1, *)))
        }
        return output
    }

    /// Patch embedding and token assembly into x (B x T x D):
    /// x[b, 0] = cls + pos[0]; x[b, prefix + j] = W · patch(keep[b][j]) + bias + pos[prefix + keep[b][j]].
    private func embed(_ img: UnsafePointer<Float>, _ keep: [[Int]], b: Int, k: Int, _ p: Buffers.Pointers) {
        let c = config, s = c.imageSize, ps = c.patchSize, d = c.embedDim, t = c.prefixTokens + k
        // im2col: one row of 3·p·p values (c, y, x order, as the conv weight) per kept patch.
        parallelFor(b * k, costPerItem: c.patchDim) { range in
            for r in range {
                let (i, j) = r.quotientAndRemainder(dividingBy: k)
                let (gy, gx) = keep[i][j].quotientAndRemainder(dividingBy: c.gridSize)
                var dst = p.patches + r * c.patchDim
                for ch in 0..<3 {
                    for y in 0..<ps {
                        let src = img + ((i * 3 + ch) * s + gy * ps + y) * s + gx * ps
                        dst.update(from: src, count: ps)
                        dst += ps
                    }
                }
            }
        }
        weights.patchEmbed.weight.withUnsafeBufferPointer { w in
            weights.patchEmbed.bias.withUnsafeBufferPointer { bias in
                Kernels.linear(p.patches, rows: b * k, inFeatures: c.patchDim, weight: w.baseAddress!,
                               outFeatures: d, bias: bias.baseAddress!, into: p.h)
            }
        }
        weights.posEmbed.withUnsafeBufferPointer { pos in
            weights.clsToken.withUnsafeBufferPointer { cls in
                for i in 0..<b {
                    let x = p.x + i * t * d
                    for j in 0..<c.prefixTokens {
                        (x + j * d).update(from: cls.baseAddress! + j * d, count: d)
                        Kernels.add(pos.baseAddress! + j * d, into: x + j * d, count: d)
                    }
                    for j in 0..<k {
                        let row = x + (c.prefixTokens + j) * d
                        row.update(from: p.h + (i * k + j) * d, count: d)
                        Kernels.add(pos.baseAddress! + (c.prefixTokens + keep[i][j]) * d, into: row, count: d)
                    }
                }
            }
        }
    }

    /// One block on x (B x T x D), in place:
    /// x += proj(MHSA(norm1(x))); x += fc2(GELU(fc1(norm2(x)))).
    private func run(_ block: Block, layer: Int, b: Int, t: Int, _ p: Buffers.Pointers,
                     classRows: UnsafeMutablePointer<Float>, storeAttention: Bool) {
        let c = config, d = c.embedDim, m = b * t, nh = c.numHeads, hd = c.headDim
        withPointers(block.norm1) { g, beta in
            Kernels.layerNorm(p.x, rows: m, features: d, gamma: g, beta: beta, eps: c.layerNormEps, into: p.h)
        }
        linear(block.attn.qkv, p.h, rows: m, into: p.qkv)
        // Attention per (image, head, block of query rows): S = scale · Q Kᵀ (rows x T),
        // softmax rows, O = S V. Q, K, V of head h are columns h·hd, D + h·hd,
        // 2D + h·hd of qkv (row stride 3D). Query rows are split in 4 blocks so
        // that small batches still give every thread work; the split does not
        // depend on the batch or the thread count, so neither changes an image's result.
        let scale = 1 / Float(hd).squareRoot()
        let rowBlocks = min(t, 4)
        parallelFor(b * nh * rowBlocks, costPerItem: 4 * t * t * hd / rowBlocks) { range in  // flops of the two products
            for job in range {
                let (head, block) = job.quotientAndRemainder(dividingBy: rowBlocks)
                let (i, h) = head.quotientAndRemainder(dividingBy: nh)
                let r0 = t * block / rowBlocks, r1 = t * (block + 1) / rowBlocks
                let q = p.qkv + i * t * 3 * d + h * hd
                // With storeAttention the probabilities go straight to their place in the stored matrices.
                let s = storeAttention ? p.attention + ((i * c.depth + layer) * nh + h) * t * t + r0 * t
                                       : p.scores + head * t * t + r0 * t
                Kernels.matmul(q + r0 * 3 * d, q + d, into: s, m: r1 - r0, n: t, k: hd, lda: 3 * d, ldb: 3 * d, ldc: t,
                               transposeB: true, alpha: scale)
                Kernels.softmaxRows(s, rows: r1 - r0, cols: t)
                if r0 == 0 { (classRows + ((i * c.depth + layer) * nh + h) * t).update(from: s, count: t) }
                Kernels.matmul(s, q + 2 * d, into: p.h + (i * t + r0) * d + h * hd, m: r1 - r0, n: hd, k: t,
                               lda: t, ldb: 3 * d, ldc: d)
            }
        }
        linear(block.attn.proj, p.h, rows: m, into: p.x, accumulate: true)
        withPointers(block.norm2) { g, beta in
            Kernels.layerNorm(p.x, rows: m, features: d, gamma: g, beta: beta, eps: c.layerNormEps, into: p.h)
        }
        linear(block.mlp.fc1, p.h, rows: m, into: p.mlp, epilogue: .gelu)
        linear(block.mlp.fc2, p.mlp, rows: m, into: p.x, accumulate: true)
    }

    /// Final LayerNorm on the class tokens and the head: B x C.
    private func head(b: Int, t: Int, _ p: Buffers.Pointers) -> Tensor {
        let c = config, d = c.embedDim
        for i in 0..<b { (p.h + i * d).update(from: p.x + i * t * d, count: d) }
        withPointers(weights.norm) { g, beta in
            Kernels.layerNorm(p.h, rows: b, features: d, gamma: g, beta: beta, eps: c.layerNormEps, into: p.h)
        }
        var logits = Tensor(zeros: [b, c.numClasses])
        logits.scalars.withUnsafeMutableBufferPointer { out in
            linear(weights.head, p.h, rows: b, into: out.baseAddress!)
        }
        return logits
    }

    /// out (= or +=) x · Wᵀ + bias, then the epilogue.
    private func linear(_ layer: Linear, _ x: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>,
                        accumulate: Bool = false, epilogue: Kernels.Epilogue = .none) {
        layer.weight.withUnsafeBufferPointer { w in
            layer.bias.withUnsafeBufferPointer { bias in
                Kernels.linear(x, rows: rows, inFeatures: layer.inFeatures, weight: w.baseAddress!,
                               outFeatures: layer.outFeatures, bias: bias.baseAddress!, into: out, accumulate: accumulate,
                               epilogue: epilogue)
            }
        }
    }

    private func withPointers(_ n: LayerNorm, _ body: (UnsafePointer<Float>, UnsafePointer<Float>) -> Void) {
        n.weight.withUnsafeBufferPointer { g in n.bias.withUnsafeBufferPointer { b in body(g.baseAddress!, b.baseAddress!) } }
    }
}

/// The forward pass's scratch memory, grown when a larger batch arrives and
/// reused otherwise, so steady-state forward passes allocate only their outputs.
struct Buffers {
    private var x: [Float] = [], h: [Float] = [], qkv: [Float] = [], mlp: [Float] = []
    private var scores: [Float] = [], patches: [Float] = [], attention: [Float] = []

    struct Pointers {
        /// B x T x D residual stream.
        let x: UnsafeMutablePointer<Float>
        /// B x T x D normalised activations / attention output / patch embeddings.
        let h: UnsafeMutablePointer<Float>
        /// B x T x 3D.
        let qkv: UnsafeMutablePointer<Float>
        /// B x T x hidden.
        let mlp: UnsafeMutablePointer<Float>
        /// B x H x T x T attention probabilities of the current layer.
        let scores: UnsafeMutablePointer<Float>
        /// B x K x 3p² flattened patches.
        let patches: UnsafeMutablePointer<Float>
        /// B x L x H x T x T every layer's attention (`storeAttention` only).
        let attention: UnsafeMutablePointer<Float>
    }

    mutating func reserve(_ c: ViTConfig, batch b: Int, tokens t: Int, patches k: Int, storeAttention: Bool) {
        func grow(_ a: inout [Float], _ n: Int) { if a.count < n { a = [Float](repeating: 0, count: n) } }
        let bt = b * t
        grow(&x, bt * c.embedDim)
        grow(&h, max(bt, b * k) * c.embedDim)
        grow(&qkv, bt * 3 * c.embedDim)
        grow(&mlp, bt * c.mlpHidden)
        grow(&scores, b * c.numHeads * t * t)
        grow(&patches, b * k * c.patchDim)
        grow(&attention, storeAttention ? b * c.depth * c.numHeads * t * t : 1)
    }

    /// The stored attention's first `count` values: the buffer itself when that
    /// is all of it, shared copy-on-write (no allocation while the caller drops
    /// each output before the next forward pass; one copy in that pass if it
    /// keeps one), else a copy of the prefix.
    func attention(count: Int) -> [Float] {
        attention.count == count ? attention : Array(attention[0..<count])
    }

    mutating func withPointers<R>(_ body: (Pointers) -> R) -> R {
        x.withUnsafeMutableBufferPointer { x in
        h.withUnsafeMutableBufferPointer { h in
        qkv.withUnsafeMutableBufferPointer { qkv in
        mlp.withUnsafeMutableBufferPointer { mlp in
        scores.withUnsafeMutableBufferPointer { s in
        patches.withUnsafeMutableBufferPointer { pa in
        attention.withUnsafeMutableBufferPointer { a in
            body(Pointers(x: x.baseAddress!, h: h.baseAddress!, qkv: qkv.baseAddress!, mlp: mlp.baseAddress!,
                          scores: s.baseAddress!, patches: pa.baseAddress!, attention: a.baseAddress!))
        }}}}}}}
    }
}
