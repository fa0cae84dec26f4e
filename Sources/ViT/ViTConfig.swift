/// The shape of a plain ViT of the DeiT family (timm's `VisionTransformer`
/// with a class token, pre-norm blocks, LayerNorm eps 1e-6, exact GELU).
///
/// Letters used across the module: B batch, T tokens (prefix + P patches),
/// D embedding dimension, H heads, L layers (blocks), C classes.
public struct ViTConfig: Codable, Sendable, Equatable {
    public var imageSize: Int
    public var patchSize: Int
    /// D.
    public var embedDim: Int
    /// L.
    public var depth: Int
    /// H; D must be a multiple of it.
    public var numHeads: Int
    /// C.
    public var numClasses: Int
    /// Hidden width of the MLP (4 D in DeiT).
    public var mlpHidden: Int
    /// Tokens before the patches: 1 (class token); distilled DeiT has 2.
    public var prefixTokens: Int = 1
    public var layerNormEps: Float = 1e-6

    public init(imageSize: Int = 224, patchSize: Int = 16, embedDim: Int, depth: Int, numHeads: Int,
                numClasses: Int = 1000, mlpHidden: Int? = nil, prefixTokens: Int = 1) {
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.embedDim = embedDim
        self.depth = depth
        self.numHeads = numHeads
        self.numClasses = numClasses
        self.mlpHidden = mlpHidden ?? 4 * embedDim
        self.prefixTokens = prefixTokens
    }

    /// Patches per side.
    public var gridSize: Int { imageSize / patchSize }
    /// P.
    public var numPatches: Int { gridSize * gridSize }
    /// T for a full image.
    public var numTokens: Int { prefixTokens + numPatches }
    /// D / H.
    public var headDim: Int { embedDim / numHeads }
    /// Values per flattened patch: 3 x patch x patch.
    public var patchDim: Int { 3 * patchSize * patchSize }

    /// Learned parameters, counted from the shapes as timm lays them out: the
    /// patch embedding (weight and bias), the prefix tokens and the position
    /// embedding, per block two LayerNorms, qkv, the attention projection and
    /// the two MLP layers (weights and biases), the final LayerNorm and the head.
    public var parameterCount: Int {
        let d = embedDim, hidden = mlpHidden
        let perBlock = 2 * 2 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * hidden + hidden) + (hidden * d + d)
        return patchDim * d + d + prefixTokens * d + numTokens * d + depth * perBlock + 2 * d + d * numClasses + numClasses
    }

    /// Multiply-adds of the encoder with `tokens` tokens, the paper's eq. 9:
    /// L (12 T D² + 2 T² D).
    public func encoderFLOPs(tokens: Int) -> Double {
        let t = Double(tokens), d = Double(embedDim)
        return Double(depth) * (12 * t * d * d + 2 * t * t * d)
    }

    public static let deitTiny = ViTConfig(embedDim: 192, depth: 12, numHeads: 3)
    public static let deitSmall = ViTConfig(embedDim: 384, depth: 12, numHeads: 6)
    public static let deitBase = ViTConfig(embedDim: 768, depth: 12, numHeads: 12)

    /// Architectures known by name (timm's names, with or without the
    /// `.fb_in1k` tag).
    public static let presets: [String: ViTConfig] = [
        "deit_tiny_patch16_224": .deitTiny,
        "deit_small_patch16_224": .deitSmall,
        "deit_base_patch16_224": .deitBase,
    ]

    /// The preset named `name`, or nil.
    public static func named(_ name: String) -> ViTConfig? {
        presets[String(name.split(separator: ".").first ?? "")]
    }
}
