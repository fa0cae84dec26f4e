/// The shape of a ViT of the DeiT family (timm's `VisionTransformer`, or
/// `VisionTransformerDistilled` with `distilled`): a class token, pre-norm
/// blocks, LayerNorm eps 1e-6, exact GELU, the head on the class token;
/// optionally register tokens and a position embedding for the patches only
/// (timm's `reg_tokens`, `no_embed_class`).
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
    /// A distillation token after the class token, with its own head
    /// (timm's `dist_token` and `head_dist`, distilled DeiT). In eval mode the
    /// logits are the mean of the two heads: (head(x[:, 0]) + head_dist(x[:, 1])) / 2.
    public var distilled: Bool = false
    /// Register tokens after the class token (timm's `reg_tokens`, `reg_token`
    /// R x D): extra tokens that take part in attention and feed no head.
    public var registerTokens: Int = 0
    /// The position embedding covers the patches only, not the prefix tokens
    /// (timm's `no_embed_class`).
    public var noEmbedClass: Bool = false
    public var layerNormEps: Float = 1e-6

    public init(imageSize: Int = 224, patchSize: Int = 16, embedDim: Int, depth: Int, numHeads: Int,
                numClasses: Int = 1000, mlpHidden: Int? = nil, distilled: Bool = false, registerTokens: Int = 0,
                noEmbedClass: Bool = false) {
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.embedDim = embedDim
        self.depth = depth
        self.numHeads = numHeads
        self.numClasses = numClasses
        self.mlpHidden = mlpHidden ?? 4 * embedDim
        self.distilled = distilled
        self.registerTokens = registerTokens
        self.noEmbedClass = noEmbedClass
    }

    /// Tokens before the patches, in this order: the class token, the
    /// distillation token when `distilled`, the register tokens.
    public var prefixTokens: Int { 1 + (distilled ? 1 : 0) + registerTokens }
    /// Rows of the position embedding: P with `noEmbedClass`, else T.
    public var posEmbedTokens: Int { noEmbedClass ? numPatches : numTokens }
    /// Classifier heads (on prefix tokens 0..<classifierHeads): 2 when distilled, else 1.
    public var classifierHeads: Int { distilled ? 2 : 1 }
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
    /// patch embedding (weight and bias), the prefix tokens (class, and
    /// distillation when distilled, registers) and the position embedding
    /// (`posEmbedTokens` x D), per
    /// block two LayerNorms, qkv, the attention projection and the two MLP
    /// layers (weights and biases), the final LayerNorm and the head (two
    /// heads when distilled).
    public var parameterCount: Int {
        let d = embedDim, hidden = mlpHidden
        let perBlock = 2 * 2 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * hidden + hidden) + (hidden * d + d)
        return patchDim * d + d + prefixTokens * d + posEmbedTokens * d + depth * perBlock + 2 * d
            + classifierHeads * (d * numClasses + numClasses)
    }

    /// The shape in words, for an architecture without a name:
    /// `ViT D=48 L=3 H=3, patch 8 at 64 px` (`, distilled`, `, 4 registers`).
    public var shapeDescription: String {
        "ViT D=\(embedDim) L=\(depth) H=\(numHeads), patch \(patchSize) at \(imageSize) px"
            + (distilled ? ", distilled" : "") + (registerTokens > 0 ? ", \(registerTokens) registers" : "")
    }

    /// Multiply-adds of one full image through the whole model, as the paper's
    /// Table I counts them: the patch embedding (P x 3p² x D), the encoder on
    /// every token (`encoderFLOPs`, eq. 9) and the head(s) (D x C each).
    /// DeiT-Tiny/Small/Base: 1.254, 4.599 and 17.564 G (the paper: 1.26, 4.61, 17.58).
    public var imageFLOPs: Double {
        let d = Double(embedDim)
        return Double(numPatches * patchDim) * d + encoderFLOPs(tokens: numTokens) + Double(classifierHeads) * d * Double(numClasses)
    }

    /// Multiply-adds of the encoder with `tokens` tokens, the paper's eq. 9:
    /// L (12 T D² + 2 T² D). The server's cost on k patches is this on prefix + k tokens.
    public func encoderFLOPs(tokens: Int) -> Double {
        let t = Double(tokens), d = Double(embedDim)
        return Double(depth) * (12 * t * d * d + 2 * t * t * d)
    }

    public static let deitTiny = ViTConfig(embedDim: 192, depth: 12, numHeads: 3)
    public static let deitSmall = ViTConfig(embedDim: 384, depth: 12, numHeads: 6)
    public static let deitBase = ViTConfig(embedDim: 768, depth: 12, numHeads: 12)
}
