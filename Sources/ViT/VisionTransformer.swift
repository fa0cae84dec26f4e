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

/// A model that classifies images and says where its class token looked:
/// what the collaborative-inference method needs of a model.
public protocol ImageClassifier: AnyObject {
    /// The architecture (shapes, prefix tokens, heads).
    var config: ViTConfig { get }

    /// Runs the model on a batch of images.
    ///
    /// - Parameters:
    ///   - images: B x 3 x S x S network inputs (normalised).
    ///   - keep: optional kept patch indices per image (0-based over the P
    ///     patches, the same count K for every image of the batch). Kept
    ///     patches keep their own position embedding, prefix tokens are always
    ///     kept, the rest are dropped before the first block (T = prefix + K).
    ///   - storeAttention: also return every layer's attention matrices
    ///     (`ViTOutput.attention`, B x L x H x T x T: what rollout needs).
    /// - Returns: the logits (B x C), the class token's attention rows in every
    ///   layer (B x L x H x T) and, with `storeAttention`, every attention matrix.
    func forward(_ images: Tensor, keep: [[Int]]?, storeAttention: Bool) -> ViTOutput
}

extension ImageClassifier {
    /// `forward` on all patches, without every layer's attention.
    public func forward(_ images: Tensor) -> ViTOutput { forward(images, keep: nil, storeAttention: false) }
    /// `forward` on the kept patches, without every layer's attention.
    public func forward(_ images: Tensor, keep: [[Int]]?) -> ViTOutput { forward(images, keep: keep, storeAttention: false) }
    /// `forward` on all patches.
    public func forward(_ images: Tensor, storeAttention: Bool) -> ViTOutput { forward(images, keep: nil, storeAttention: storeAttention) }
}

/// A ViT of the DeiT family on the CPU (timm's `VisionTransformer`, and
/// `VisionTransformerDistilled` in eval mode): BLAS for every matrix
/// product, SIMD for the rest. Not safe to run from two threads at once (it
/// reuses buffers).
public final class VisionTransformer: ImageClassifier {
    public let config: ViTConfig
    public let weights: ViTWeights
    /// prefix x D: the class token, the distillation token, the register tokens.
    private let prefix: [Float]
    private var buffers = Buffers()

    public init(config: ViTConfig, weights: ViTWeights) {
        precondition(weights.fit(config), "weights do not have the shapes of \(config)")
        self.config = config
        self.weights = weights
        prefix = weights.clsToken + (weights.distToken ?? []) + (weights.regToken ?? [])
    }

    /// Loads `.safetensors` weights (timm or transformers layout); see `ViTWeights.load`.
    public convenience init(weightsPath: String, expected: ViTConfig? = nil, heads: Int? = nil) throws {
        let (c, w) = try ViTWeights.load(path: weightsPath, expected: expected, heads: heads)
        self.init(config: c, weights: w)
    }

    /// See `ImageClassifier.forward`.
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

        var classAttention = Tensor(zeros: [b, c.depth, c.numHeads, t])
        let logits = classAttention.scalars.withUnsafeMutableBufferPointer { cls in
            buffers.withPointers { p -> Tensor in
                let pass = ForwardPass(batch: b, tokens: t, numHeads: c.numHeads, depth: c.depth, eps: c.layerNormEps,
                                       buffers: p, classAttention: cls.baseAddress!, storeAttention: storeAttention)
                let patches = images.scalars.withUnsafeBufferPointer { img in
                    weights.patchEmbed(img.baseAddress!, imageSize: c.imageSize, keep: patchIndex, pass)
                }
                var x = tokens(patches, keep: patchIndex, pass)
                for (l, block) in weights.blocks.enumerated() {
                    block(&x, pass, layer: l)
                }
                return head(x, pass)
            }
        }
        var output = ViTOutput(logits: logits, classAttention: classAttention)
        if storeAttention {
            let shape = [b, c.depth, c.numHeads, t, t]
            output.attention = Tensor(shape: shape, scalars: buffers.attention(count: shape.reduce(1, *)))
        }
        return output
    }

    /// The token sequence (timm's `_pos_embed`) in `pass.buffers.x`,
    /// B·T x D: per image the prefix tokens (class token, the distillation
    /// token when distilled, the register tokens), then the embedded patches
    /// (B·K x D) in `keep` order, each plus its position embedding:
    /// x[b, j] = prefix[j] (+ pos[j] unless `noEmbedClass`);
    /// x[b, prefix + j] = patches[b, j] + pos[o + keep[b][j]], o = 0 with `noEmbedClass`, else prefix.
    private func tokens(_ patches: Rows, keep: [[Int]], _ pass: ForwardPass) -> Rows {
        let c = config, d = c.embedDim, k = keep.first?.count ?? 0, t = pass.tokens, x = pass.buffers.x
        let patchPos = c.noEmbedClass ? 0 : c.prefixTokens  // row of patch 0 in pos_embed
        weights.posEmbed.withUnsafeBufferPointer { pos in
            for i in 0..<pass.batch {
                let image = x + i * t * d
                image.update(from: prefix, count: c.prefixTokens * d)
                if !c.noEmbedClass { Kernels.add(pos.baseAddress!, into: image, count: c.prefixTokens * d) }
                for j in 0..<k {
                    let row = image + (c.prefixTokens + j) * d
                    row.update(from: patches.base + (i * k + j) * d, count: d)
                    Kernels.add(pos.baseAddress! + (patchPos + keep[i][j]) * d, into: row, count: d)
                }
            }
        }
        return Rows(base: x, rows: pass.batch * t, width: d)
    }

    /// The final LayerNorm on the prefix tokens that have a head, and the
    /// head(s) (timm's `forward_head`): B x C logits, head(x[:, 0]); when
    /// distilled, (head(x[:, 0]) + head_dist(x[:, 1])) / 2 as timm's
    /// `VisionTransformerDistilled` in eval mode.
    private func head(_ x: Rows, _ pass: ForwardPass) -> Tensor {
        let c = config, d = c.embedDim, b = pass.batch, t = pass.tokens, n = c.numClasses
        // Rows of pass.h: the class tokens of all images, then their distillation tokens.
        for j in 0..<c.classifierHeads {
            for i in 0..<b { (pass.buffers.h + (j * b + i) * d).update(from: x.base + (i * t + j) * d, count: d) }
        }
        let tokens = weights.norm(Rows(base: pass.buffers.h, rows: c.classifierHeads * b, width: d), into: pass.buffers.h, eps: c.layerNormEps)
        var logits = Tensor(zeros: [b, n])
        logits.scalars.withUnsafeMutableBufferPointer { out in
            let classRows = Rows(base: tokens.base, rows: b, width: d)
            guard let headDist = weights.headDist else {
                weights.head.apply(classRows, into: out.baseAddress!)
                return
            }
            // Both heads into pass.mlp (2B x C, reserved for this), then their mean.
            let scratch = pass.buffers.mlp
            weights.head.apply(classRows, into: scratch)
            headDist.apply(Rows(base: tokens.base + b * d, rows: b, width: d), into: scratch + b * n)
            for r in 0..<(b * n) { out[r] = (scratch[r] + scratch[b * n + r]) / 2 }
        }
        return logits
    }
}

/// One forward pass: its shapes and scratch memory, and where the
/// attention it records goes; handed to every module.
struct ForwardPass {
    /// B.
    let batch: Int
    /// T.
    let tokens: Int
    /// H.
    let numHeads: Int
    /// L.
    let depth: Int
    /// LayerNorm's eps.
    let eps: Float
    let buffers: Buffers.Pointers
    /// B x L x H x T: the class token's attention rows.
    let classAttention: UnsafeMutablePointer<Float>
    /// Whether every attention matrix is kept (in `buffers.attention`).
    let storeAttention: Bool
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
        /// B x T x hidden MLP activations; the two heads' logits (2B x C) of a distilled model.
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
        grow(&mlp, max(bt * c.mlpHidden, c.classifierHeads * b * c.numClasses))
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
