import Tensors

/// The modules of a ViT, one small type each, mirroring timm's: their
/// properties are named as timm's checkpoint keys (`blocks.i.attn.qkv.weight`
/// is `blocks[i].attn.qkv.weight`) and each has the forward of its timm
/// module. Forward passes work on `Rows` in the scratch memory of a
/// `ForwardPass` (no allocation), with BLAS for every matrix product.

/// A rows x width row-major matrix of activations in a forward pass's scratch memory.
struct Rows {
    let base: UnsafeMutablePointer<Float>
    let rows: Int
    let width: Int

    /// The residual connection: x += branch, where the branch's last linear
    /// layer is computed straight into x (BLAS with beta = 1), so the sum
    /// needs no buffer of its own.
    static func += (x: inout Rows, branch: Deferred) {
        precondition(branch.input.rows == x.rows && branch.layer.outFeatures == x.width)
        branch.layer.apply(branch.input, into: x.base, accumulate: true)
    }
}

/// `layer` applied to `input`, not yet computed: what a residual branch
/// returns, computed by `Rows.+=` into the residual stream.
struct Deferred {
    let layer: Linear
    let input: Rows
}

/// A linear layer y = x Wᵀ + b; `weight` is out x in (PyTorch layout).
public struct Linear: Sendable {
    public var weight: [Float]
    public var bias: [Float]
    public let inFeatures: Int
    public let outFeatures: Int

    public init(weight: [Float], bias: [Float], inFeatures: Int, outFeatures: Int) {
        precondition(weight.count == inFeatures * outFeatures && bias.count == outFeatures)
        self.weight = weight
        self.bias = bias
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
    }

    /// out (rows x out, = or += when `accumulate`) x · Wᵀ + b, then the epilogue.
    func apply(_ x: Rows, into out: UnsafeMutablePointer<Float>, accumulate: Bool = false,
               epilogue: Kernels.Epilogue = .none) {
        precondition(x.width == inFeatures)
        weight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                Kernels.linear(x.base, rows: x.rows, inFeatures: inFeatures, weight: w.baseAddress!,
                               outFeatures: outFeatures, bias: b.baseAddress!, into: out, accumulate: accumulate,
                               epilogue: epilogue)
            }
        }
    }

    /// x · Wᵀ + b into `out` (rows x out), returned as rows.
    func callAsFunction(_ x: Rows, into out: UnsafeMutablePointer<Float>, epilogue: Kernels.Epilogue = .none) -> Rows {
        apply(x, into: out, epilogue: epilogue)
        return Rows(base: out, rows: x.rows, width: outFeatures)
    }
}

/// LayerNorm's affine parameters (gamma = `weight`, beta = `bias`), D each.
public struct LayerNorm: Sendable {
    public var weight: [Float]
    public var bias: [Float]

    /// (x - mean) / sqrt(var + eps) · weight + bias per row of x (rows x D),
    /// into `out` (which may be x's own memory).
    func callAsFunction(_ x: Rows, into out: UnsafeMutablePointer<Float>, eps: Float) -> Rows {
        precondition(x.width == weight.count)
        weight.withUnsafeBufferPointer { g in
            bias.withUnsafeBufferPointer { b in
                Kernels.layerNorm(x.base, rows: x.rows, features: x.width, gamma: g.baseAddress!, beta: b.baseAddress!,
                                  eps: eps, into: out)
            }
        }
        return Rows(base: out, rows: x.rows, width: x.width)
    }
}

/// The patch embedding (timm's `patch_embed`): a patch x patch convolution
/// with stride patch, stored as `proj`, a linear map of the flattened patch
/// (channel, y, x order, as the convolution's weight): D x 3p².
public struct PatchEmbed: Sendable {
    public var proj: Linear
    public let patchSize: Int

    public init(proj: Linear, patchSize: Int) {
        precondition(proj.inFeatures == 3 * patchSize * patchSize)
        self.proj = proj
        self.patchSize = patchSize
    }

    /// Embeds patches `keep[i]` (indices in row-major grid order) of every
    /// image i of `images` (B x 3 x S x S) into `pass.h`: B·K x D, image by
    /// image, in `keep` order; the flattened patches go through `pass.patches`.
    func callAsFunction(_ images: UnsafePointer<Float>, imageSize s: Int, keep: [[Int]], _ pass: ForwardPass) -> Rows {
        let ps = patchSize, grid = s / ps, k = keep.first?.count ?? 0, dim = proj.inFeatures
        // im2col: one row of 3·p·p values per kept patch.
        parallelFor(keep.count * k, costPerItem: dim) { range in
            for r in range {
                let (i, j) = r.quotientAndRemainder(dividingBy: k)
                let (gy, gx) = keep[i][j].quotientAndRemainder(dividingBy: grid)
                var dst = pass.buffers.patches + r * dim
                for ch in 0..<3 {
                    for y in 0..<ps {
                        let src = images + ((i * 3 + ch) * s + gy * ps + y) * s + gx * ps
                        dst.update(from: src, count: ps)
                        dst += ps
                    }
                }
            }
        }
        return proj(Rows(base: pass.buffers.patches, rows: keep.count * k, width: dim), into: pass.buffers.h)
    }
}

/// Multi-head self-attention (timm's `Attention`): `qkv` maps D -> 3D (laid
/// out q | k | v, each split into H heads of D/H), `proj` maps D -> D.
public struct SelfAttention: Sendable {
    public var qkv: Linear
    public var proj: Linear

    /// proj(softmax(Q Kᵀ / sqrt(D/H)) V), heads side by side, for x
    /// (B·T x D, in `pass.h`; overwritten by the heads' outputs); `proj` is
    /// returned deferred, for the residual sum. Records the class token's
    /// attention row of every head in `pass.classAttention` (and every row
    /// in `pass.attention` with `storeAttention`) for layer `layer`.
    func callAsFunction(_ x: Rows, _ pass: ForwardPass, layer: Int) -> Deferred {
        let b = pass.batch, t = pass.tokens, d = x.width, nh = pass.numHeads, hd = d / nh, depth = pass.depth
        let qkvRows = qkv(x, into: pass.buffers.qkv)
        let out = pass.buffers.h
        // Per (image, head, block of query rows): S = scale · Q Kᵀ (rows x T),
        // softmax rows, O = S V. Q, K, V of head h are columns h·hd, D + h·hd,
        // 2D + h·hd of qkv (row stride 3D). Query rows are split in 4 blocks so
        // that small batches still give every thread work; the split does not
        // depend on the batch or the thread count, so neither changes an image's result.
        let scale = 1 / Float(hd).squareRoot()
        let rowBlocks = min(t, 4)
        let stored = pass.storeAttention ? pass.buffers.attention : nil
        parallelFor(b * nh * rowBlocks, costPerItem: 4 * t * t * hd / rowBlocks) { range in  // flops of the two products
            for job in range {
                let (head, block) = job.quotientAndRemainder(dividingBy: rowBlocks)
                let (i, h) = head.quotientAndRemainder(dividingBy: nh)
                let r0 = t * block / rowBlocks, r1 = t * (block + 1) / rowBlocks
                let q = qkvRows.base + i * t * 3 * d + h * hd
                // With storeAttention the probabilities go straight to their place in the stored matrices.
                let s = stored.map { $0 + ((i * depth + layer) * nh + h) * t * t + r0 * t }
                    ?? pass.buffers.scores + head * t * t + r0 * t
                Kernels.matmul(q + r0 * 3 * d, q + d, into: s, m: r1 - r0, n: t, k: hd, lda: 3 * d, ldb: 3 * d, ldc: t,
                               transposeB: true, alpha: scale)
                Kernels.softmaxRows(s, rows: r1 - r0, cols: t)
                if r0 == 0 { (pass.classAttention + ((i * depth + layer) * nh + h) * t).update(from: s, count: t) }
                Kernels.matmul(s, q + 2 * d, into: out + (i * t + r0) * d + h * hd, m: r1 - r0, n: hd, k: t,
                               lda: t, ldb: 3 * d, ldc: d)
            }
        }
        return Deferred(layer: proj, input: Rows(base: out, rows: x.rows, width: d))
    }
}

/// The MLP (timm's `Mlp`): `fc1` D -> hidden, exact GELU, `fc2` hidden -> D.
public struct MLP: Sendable {
    public var fc1: Linear
    public var fc2: Linear

    /// fc2(GELU(fc1(x))) for x (B·T x D); the hidden activations go in
    /// `pass.mlp`, `fc2` is returned deferred, for the residual sum.
    func callAsFunction(_ x: Rows, _ pass: ForwardPass) -> Deferred {
        Deferred(layer: fc2, input: fc1(x, into: pass.buffers.mlp, epilogue: .gelu))
    }
}

/// A pre-norm transformer block (timm's `Block`).
public struct Block: Sendable {
    public var norm1: LayerNorm
    public var attn: SelfAttention
    public var norm2: LayerNorm
    public var mlp: MLP

    /// x (B·T x D, the residual stream) through the block, in place; the
    /// normalised activations go in `pass.h`.
    func callAsFunction(_ x: inout Rows, _ pass: ForwardPass, layer: Int) {
        let h = pass.buffers.h, eps = pass.eps
        x += attn(norm1(x, into: h, eps: eps), pass, layer: layer)
        x += mlp(norm2(x, into: h, eps: eps), pass)
    }
}

/// All parameters of a ViT, under timm's names.
public struct ViTWeights: Sendable {
    public var patchEmbed: PatchEmbed
    /// D: the class token.
    public var clsToken: [Float]
    /// D: the distillation token (distilled models only, else nil).
    public var distToken: [Float]?
    /// R x D: the register tokens (nil without).
    public var regToken: [Float]?
    /// `posEmbedTokens` x D position embedding: for the prefix tokens and
    /// all P patches, or for the patches only (`noEmbedClass`).
    public var posEmbed: [Float]
    public var blocks: [Block]
    public var norm: LayerNorm
    /// D -> C, on the class token.
    public var head: Linear
    /// D -> C, on the distillation token (distilled models only, else nil).
    public var headDist: Linear?

    /// Whether these weights have the shapes of configuration `c`.
    public func fit(_ c: ViTConfig) -> Bool {
        let d = c.embedDim
        func fits(_ l: Linear, _ i: Int, _ o: Int) -> Bool { l.inFeatures == i && l.outFeatures == o }
        func fits(_ n: LayerNorm) -> Bool { n.weight.count == d && n.bias.count == d }
        return fits(patchEmbed.proj, c.patchDim, d) && patchEmbed.patchSize == c.patchSize && clsToken.count == d
            && (distToken?.count ?? 0) == (c.distilled ? d : 0) && (regToken?.count ?? 0) == c.registerTokens * d
            && (regToken == nil || c.registerTokens > 0) && posEmbed.count == c.posEmbedTokens * d
            && blocks.count == c.depth && norm.weight.count == d && norm.bias.count == d
            && fits(head, d, c.numClasses) && (headDist == nil) == !c.distilled && headDist.map { fits($0, d, c.numClasses) } ?? true
            && blocks.allSatisfy {
                fits($0.norm1) && fits($0.norm2) && fits($0.attn.qkv, d, 3 * d) && fits($0.attn.proj, d, d)
                    && fits($0.mlp.fc1, d, c.mlpHidden) && fits($0.mlp.fc2, c.mlpHidden, d)
            }
    }

    /// Random weights for a configuration (uniform with standard deviation
    /// `std`, LayerNorm at identity), for benchmarks and tests.
    public static func random(_ c: ViTConfig, seed: UInt64 = 0, std: Float = 0.02) -> ViTWeights {
        var rng = SplitMix64(seed: seed)
        let a = std * Float(3.0.squareRoot())
        func values(_ n: Int) -> [Float] { (0..<n).map { _ in Float.random(in: -a..<a, using: &rng) } }
        func linear(_ i: Int, _ o: Int) -> Linear { Linear(weight: values(i * o), bias: values(o), inFeatures: i, outFeatures: o) }
        func norm() -> LayerNorm { LayerNorm(weight: [Float](repeating: 1, count: c.embedDim), bias: [Float](repeating: 0, count: c.embedDim)) }
        let d = c.embedDim
        return ViTWeights(
            patchEmbed: PatchEmbed(proj: linear(c.patchDim, d), patchSize: c.patchSize),
            clsToken: values(d),
            distToken: c.distilled ? values(d) : nil,
            regToken: c.registerTokens > 0 ? values(c.registerTokens * d) : nil,
            posEmbed: values(c.posEmbedTokens * d),
            blocks: (0..<c.depth).map { _ in
                Block(norm1: norm(), attn: SelfAttention(qkv: linear(d, 3 * d), proj: linear(d, d)),
                      norm2: norm(), mlp: MLP(fc1: linear(d, c.mlpHidden), fc2: linear(c.mlpHidden, d)))
            },
            norm: norm(),
            head: linear(d, c.numClasses),
            headDist: c.distilled ? linear(d, c.numClasses) : nil)
    }
}

extension ViTWeights {
    /// The weights under timm's key names and shapes (what `load` reads back).
    public func timmTensors(_ c: ViTConfig) -> [String: Tensor] {
        let d = c.embedDim
        var t: [String: Tensor] = [
            "cls_token": Tensor(shape: [1, 1, d], scalars: clsToken),
            "pos_embed": Tensor(shape: [1, c.posEmbedTokens, d], scalars: posEmbed),
            "patch_embed.proj.weight": Tensor(shape: [d, 3, c.patchSize, c.patchSize], scalars: patchEmbed.proj.weight),
            "patch_embed.proj.bias": Tensor(shape: [d], scalars: patchEmbed.proj.bias),
        ]
        if let distToken { t["dist_token"] = Tensor(shape: [1, 1, d], scalars: distToken) }
        if let regToken { t["reg_token"] = Tensor(shape: [1, c.registerTokens, d], scalars: regToken) }
        func put(_ key: String, _ l: Linear) {
            t[key + ".weight"] = Tensor(shape: [l.outFeatures, l.inFeatures], scalars: l.weight)
            t[key + ".bias"] = Tensor(shape: [l.outFeatures], scalars: l.bias)
        }
        func put(_ key: String, _ n: LayerNorm) {
            t[key + ".weight"] = Tensor(shape: [d], scalars: n.weight)
            t[key + ".bias"] = Tensor(shape: [d], scalars: n.bias)
        }
        for (i, b) in blocks.enumerated() {
            put("blocks.\(i).norm1", b.norm1); put("blocks.\(i).attn.qkv", b.attn.qkv); put("blocks.\(i).attn.proj", b.attn.proj)
            put("blocks.\(i).norm2", b.norm2); put("blocks.\(i).mlp.fc1", b.mlp.fc1); put("blocks.\(i).mlp.fc2", b.mlp.fc2)
        }
        put("norm", norm)
        put("head", head)
        if let headDist { put("head_dist", headDist) }
        return t
    }
}
