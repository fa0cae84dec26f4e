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

    /// Random weights for a configuration (uniform with std 0.02, LayerNorm
    /// at identity), for benchmarks and shape tests.
    public static func random(_ c: ViTConfig, seed: UInt64 = 0) -> ViTWeights {
        var rng = SplitMix64(seed: seed)
        let a = Float(0.02 * 3.0.squareRoot())
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

/// A small deterministic generator (SplitMix64) for reproducible random weights and inputs.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A standard normal sample (Box-Muller).
    public mutating func nextGaussian() -> Float {
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self)
        let u2 = Double.random(in: 0..<1, using: &self)
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }
}

import Foundation
@inline(__always) private func _log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Foundation.cos(x) }
