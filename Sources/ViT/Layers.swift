import Tensors

/// The parameters of a ViT, one small type per layer, with properties named
/// as timm's checkpoint keys (`blocks.i.attn.qkv.weight` is
/// `blocks[i].attn.qkv.weight`).

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
}

/// LayerNorm's affine parameters (gamma = `weight`, beta = `bias`), D each.
public struct LayerNorm: Sendable {
    public var weight: [Float]
    public var bias: [Float]
}

/// Multi-head self-attention: `qkv` maps D -> 3D (laid out q | k | v, each
/// split into H heads of D/H), `proj` maps D -> D.
public struct SelfAttention: Sendable {
    public var qkv: Linear
    public var proj: Linear
}

/// The MLP: `fc1` D -> hidden, exact GELU, `fc2` hidden -> D.
public struct MLP: Sendable {
    public var fc1: Linear
    public var fc2: Linear
}

/// A pre-norm transformer block:
/// x += attn.proj(MHSA(norm1(x))); x += mlp.fc2(GELU(mlp.fc1(norm2(x)))).
public struct Block: Sendable {
    public var norm1: LayerNorm
    public var attn: SelfAttention
    public var norm2: LayerNorm
    public var mlp: MLP
}

/// All parameters of a ViT.
public struct ViTWeights: Sendable {
    /// The patch embedding: a patch x patch stride-patch convolution, stored
    /// as a linear map of the flattened patch (c, y, x order): D x 3p².
    public var patchEmbed: Linear
    /// prefix x D (the class token, and a distillation token when present).
    public var clsToken: [Float]
    /// T x D position embedding for the prefix tokens and all P patches.
    public var posEmbed: [Float]
    public var blocks: [Block]
    public var norm: LayerNorm
    /// D -> C.
    public var head: Linear

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
            patchEmbed: linear(c.patchDim, d),
            clsToken: values(c.prefixTokens * d),
            posEmbed: values(c.numTokens * d),
            blocks: (0..<c.depth).map { _ in
                Block(norm1: norm(), attn: SelfAttention(qkv: linear(d, 3 * d), proj: linear(d, d)),
                      norm2: norm(), mlp: MLP(fc1: linear(d, c.mlpHidden), fc2: linear(c.mlpHidden, d)))
            },
            norm: norm(),
            head: linear(d, c.numClasses))
    }
}

extension ViTWeights {
    /// The weights under timm's key names and shapes (what `load` reads back).
    public func timmTensors(_ c: ViTConfig) -> [String: Tensor] {
        let d = c.embedDim
        var t: [String: Tensor] = [
            "cls_token": Tensor(shape: [1, c.prefixTokens, d], scalars: clsToken),
            "pos_embed": Tensor(shape: [1, c.numTokens, d], scalars: posEmbed),
            "patch_embed.proj.weight": Tensor(shape: [d, 3, c.patchSize, c.patchSize], scalars: patchEmbed.weight),
            "patch_embed.proj.bias": Tensor(shape: [d], scalars: patchEmbed.bias),
        ]
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
        return t
    }
}
