import Safety

/// An architecture known by name: its configuration and a factory that
/// builds the model from a weights file.
public struct Architecture: Sendable {
    /// timm's name, without a pretrained tag (`deit_tiny_patch16_224`).
    public let name: String
    /// The configuration the pretrained weights have (1,000 ImageNet classes).
    public let config: ViTConfig
    /// Builds the model from a `.safetensors` file (timm or transformers
    /// layout), refusing weights whose shapes are not this architecture's;
    /// `heads` as in `ViTWeights.load`.
    public let make: @Sendable (_ weightsPath: String, _ heads: Int?) throws -> any ImageClassifier
}

/// Architectures by timm's names, each with its factory.
public enum ModelRegistry {
    /// A DeiT of the plain ViT family: the model is a `VisionTransformer`.
    static func vit(_ name: String, _ config: ViTConfig) -> Architecture {
        Architecture(name: name, config: config) { path, heads in
            try VisionTransformer(weightsPath: path, expected: config, heads: heads)
        }
    }

    /// Every known architecture, by name.
    public static let architectures: [String: Architecture] = Dictionary(uniqueKeysWithValues: [
        vit("deit_tiny_patch16_224", .deitTiny),
        vit("deit_small_patch16_224", .deitSmall),
        vit("deit_base_patch16_224", .deitBase),
        vit("deit_tiny_distilled_patch16_224", .distilled(.deitTiny)),
        vit("deit_small_distilled_patch16_224", .distilled(.deitSmall)),
        vit("deit_base_distilled_patch16_224", .distilled(.deitBase)),
    ].map { ($0.name, $0) })

    /// The name of the architecture whose configuration is `config`, or nil.
    public static func name(of config: ViTConfig) -> String? {
        architectures.values.filter { $0.config == config }.map(\.name).sorted().first
    }

    /// The known names, sorted.
    public static var names: [String] { architectures.keys.sorted() }

    /// The architecture named `name` (timm's name, with or without a
    /// pretrained tag such as `.fb_in1k`), or nil.
    public static func architecture(named name: String) -> Architecture? {
        architectures[String(name.split(separator: ".", maxSplits: 1).first ?? "")]
    }

    /// Loads a model: with `name` nil or "auto" a `VisionTransformer` whose
    /// configuration is read off the weights, else the named architecture's
    /// factory. An unknown name is an error naming the file and the known names.
    public static func load(_ name: String?, weightsPath: String, heads: Int? = nil) throws -> any ImageClassifier {
        guard let name, name != "auto" else { return try VisionTransformer(weightsPath: weightsPath, heads: heads) }
        guard let a = architecture(named: name) else {
            throw WeightsError(path: weightsPath, reason: "unknown architecture '\(name)'; known: \(names.joined(separator: ", ")), auto",
                               kind: .badValue)
        }
        return try a.make(weightsPath, heads)
    }
}

extension ViTConfig {
    /// The same configuration with a distillation token and head.
    static func distilled(_ c: ViTConfig) -> ViTConfig {
        var d = c
        d.distilled = true
        return d
    }
}
