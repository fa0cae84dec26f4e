import Foundation
import Tensors

/// A weights file that does not fit the model, in one line naming the file
/// and the tensor(s).
public struct WeightsError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}

/// Loading a ViT from `.safetensors` in three steps (as MLX does):
/// 1. rename keys of the Hugging Face transformers layout to timm's;
/// 2. sanitise: join HF's separate query/key/value into timm's `qkv`;
/// 3. verify strictly: every expected tensor present with its shape, no
///    unexpected tensor left over.
/// Before all three, a tensor holding a NaN or an infinity is refused under
/// its name in the file (one vectorised pass over the floats).
extension ViTWeights {
    /// Reads weights in the timm layout (`blocks.0.attn.qkv.weight`, as in
    /// `timm/deit_*_patch16_224.fb_in1k`) or the transformers layout
    /// (`vit.encoder.layer.0.attention.attention.query.weight`, as in
    /// `facebook/deit-*-patch16-224`). The configuration is read off the
    /// tensor shapes; `numHeads` (not visible in the shapes) comes from
    /// `heads`, else the `expected` architecture, else the file's
    /// `num_heads` metadata, else a `config.json` beside the file, else
    /// D / 64 as in every DeiT. With `expected`, the shapes must match that architecture.
    public static func load(path: String, expected: ViTConfig? = nil, heads: Int? = nil) throws -> (ViTConfig, ViTWeights) {
        let file = try SafeTensors(path: path)
        func fail(_ r: String) -> WeightsError { WeightsError(path: path, reason: r) }
        var tensors: [String: Tensor] = [:]
        for name in file.names {
            let t = file.tensor(name)!
            if let i = t.firstNonFiniteIndex {
                let bad = t.scalars.lazy.filter { !$0.isFinite }.count
                throw fail("tensor '\(name)' holds \(bad) non-finite value(s) of \(t.count) (first \(t.scalars[i]) at flat index \(i))")
            }
            tensors[name] = t
        }
        tensors = try timmLayout(tensors, fail: fail)

        func shape(_ key: String) throws -> [Int] {
            guard let t = tensors[key] else { throw fail("missing tensor '\(key)'") }
            return t.shape
        }
        // Read the configuration off the shapes.
        let cls = try shape("cls_token"), pos = try shape("pos_embed"), pe = try shape("patch_embed.proj.weight")
        let headShape = try shape("head.weight")
        guard cls.count == 3, pos.count == 3, pe.count == 4, pe[1] == 3, pe[2] == pe[3], headShape.count == 2 else {
            throw fail("unexpected shapes: cls_token \(cls), pos_embed \(pos), patch_embed.proj.weight \(pe), head.weight \(headShape)")
        }
        let d = cls[2], prefix = cls[1], patch = pe[2]
        let patches = pos[1] - prefix
        let grid = Int(Double(patches).squareRoot().rounded())
        guard grid * grid == patches else { throw fail("pos_embed has \(pos[1]) tokens: \(patches) patches is not a square grid") }
        let depth = Set(tensors.keys.compactMap { k -> Int? in
            guard k.hasPrefix("blocks.") else { return nil }
            return Int(k.split(separator: ".")[1])
        }).count
        let hidden = try shape("blocks.0.mlp.fc1.weight")[0]
        let numHeads = heads ?? expected?.numHeads ?? file.metadata["num_heads"].flatMap { Int($0) }
            ?? headsFromSiblingConfig(of: path) ?? (d % 64 == 0 ? d / 64 : 0)
        guard numHeads > 0, d % numHeads == 0 else {
            throw fail("cannot infer the number of heads for embed dim \(d): pass it explicitly")
        }
        var config = ViTConfig(imageSize: grid * patch, patchSize: patch, embedDim: d, depth: depth,
                               numHeads: numHeads, numClasses: headShape[0], mlpHidden: hidden, prefixTokens: prefix)
        if let e = expected {
            let mismatches = [("embed dim", e.embedDim, d), ("depth", e.depth, depth), ("patch size", e.patchSize, patch),
                              ("image size", e.imageSize, config.imageSize), ("mlp hidden", e.mlpHidden, hidden)]
                .filter { $0.1 != $0.2 }.map { "\($0.0) \($0.2) (expected \($0.1))" }
            guard mismatches.isEmpty else { throw fail("weights do not match the architecture: " + mismatches.joined(separator: ", ")) }
            config.layerNormEps = e.layerNormEps
        }
        return (config, try assemble(config, tensors, fail: fail))
    }

    /// The head count from a `config.json` beside the weights, as Hugging
    /// Face repositories ship it: `num_heads`, transformers'
    /// `num_attention_heads`, or timm's `architecture` naming a preset.
    static func headsFromSiblingConfig(of path: String) -> Int? {
        let url = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("config.json")
        guard let data = try? Data(contentsOf: url),
              let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return nil }
        if let n = (json["num_heads"] ?? json["num_attention_heads"]) as? Int { return n }
        if let arch = json["architecture"] as? String { return ViTConfig.named(arch)?.numHeads }
        return nil
    }

    /// Builds the weights from timm-named tensors, checking every shape and
    /// refusing missing or unexpected tensors.
    static func assemble(_ c: ViTConfig, _ tensors: [String: Tensor], fail: (String) -> WeightsError) throws -> ViTWeights {
        var used = Set<String>()
        var missing: [String] = []
        func take(_ key: String, _ shape: [Int]) throws -> [Float] {
            guard let t = tensors[key] else { missing.append(key); return [Float](repeating: 0, count: shape.reduce(1, *)) }
            used.insert(key)
            guard t.shape == shape else { throw fail("tensor '\(key)' has shape \(t.shape), expected \(shape)") }
            return t.scalars
        }
        func linear(_ key: String, _ i: Int, _ o: Int, weightShape: [Int]? = nil) throws -> Linear {
            Linear(weight: try take(key + ".weight", weightShape ?? [o, i]), bias: try take(key + ".bias", [o]),
                   inFeatures: i, outFeatures: o)
        }
        func norm(_ key: String) throws -> LayerNorm {
            LayerNorm(weight: try take(key + ".weight", [c.embedDim]), bias: try take(key + ".bias", [c.embedDim]))
        }
        let d = c.embedDim
        let weights = ViTWeights(
            patchEmbed: try linear("patch_embed.proj", c.patchDim, d, weightShape: [d, 3, c.patchSize, c.patchSize]),
            clsToken: try take("cls_token", [1, c.prefixTokens, d]),
            posEmbed: try take("pos_embed", [1, c.numTokens, d]),
            blocks: try (0..<c.depth).map { i in
                let p = "blocks.\(i)."
                return Block(norm1: try norm(p + "norm1"),
                             attn: SelfAttention(qkv: try linear(p + "attn.qkv", d, 3 * d), proj: try linear(p + "attn.proj", d, d)),
                             norm2: try norm(p + "norm2"),
                             mlp: MLP(fc1: try linear(p + "mlp.fc1", d, c.mlpHidden), fc2: try linear(p + "mlp.fc2", c.mlpHidden, d)))
            },
            norm: try norm("norm"),
            head: try linear("head", d, c.numClasses))
        if !missing.isEmpty { throw fail("missing tensor(s): " + missing.joined(separator: ", ")) }
        let unexpected = Set(tensors.keys).subtracting(used).sorted()
        if !unexpected.isEmpty { throw fail("unexpected tensor(s): " + unexpected.prefix(8).joined(separator: ", ")) }
        return weights
    }

    /// Key renames from the transformers layout to timm's, applied in order
    /// to the name without its `vit.`/`deit.` prefix.
    static let renames: [(String, String)] = [
        ("embeddings.cls_token", "cls_token"),
        ("embeddings.position_embeddings", "pos_embed"),
        ("embeddings.patch_embeddings.projection.", "patch_embed.proj."),
        ("encoder.layer.", "blocks."),
        (".attention.output.dense.", ".attn.proj."),
        (".intermediate.dense.", ".mlp.fc1."),
        (".output.dense.", ".mlp.fc2."),
        (".layernorm_before.", ".norm1."),
        (".layernorm_after.", ".norm2."),
        ("layernorm.", "norm."),
        ("classifier.", "head."),
    ]

    /// Returns the tensors under timm's names; a transformers-layout file
    /// (recognised by `embeddings.patch_embeddings`) is renamed and its
    /// query/key/value joined into `qkv` (rows q | k | v).
    static func timmLayout(_ tensors: [String: Tensor], fail: (String) -> WeightsError) throws -> [String: Tensor] {
        guard tensors.keys.contains(where: { $0.contains("embeddings.patch_embeddings") }) else { return tensors }
        var out: [String: Tensor] = [:]
        var qkvParts: [String: [String: Tensor]] = [:]  // "blocks.i.attn.qkv.weight" -> ["query": ...]
        for (key, t) in tensors {
            var k = key
            for p in ["vit.", "deit."] where k.hasPrefix(p) { k.removeFirst(p.count) }
            if let r = k.range(of: ".attention.attention.") {
                let rest = k[r.upperBound...].split(separator: ".")  // [query|key|value, weight|bias]
                guard rest.count == 2 else { throw fail("unexpected tensor '\(key)'") }
                let target = String(k[..<r.lowerBound]).replacingOccurrences(of: "encoder.layer.", with: "blocks.") + ".attn.qkv." + rest[1]
                qkvParts[target, default: [:]][String(rest[0])] = t
                continue
            }
            for (from, to) in renames { k = k.replacingOccurrences(of: from, with: to) }
            if k == "cls_token" || k == "pos_embed" || k.hasPrefix("patch_embed") || k.hasPrefix("blocks.") || k.hasPrefix("norm.") || k.hasPrefix("head.") {
                out[k] = t
            } else {
                out[key] = t  // left as is: strict verification reports it as unexpected
            }
        }
        for (target, parts) in qkvParts {
            guard let q = parts["query"], let k = parts["key"], let v = parts["value"] else {
                throw fail("\(target): query, key and value are not all present (have \(parts.keys.sorted()))")
            }
            guard q.shape == k.shape, q.shape == v.shape else { throw fail("\(target): query/key/value shapes differ") }
            out[target] = Tensor(shape: [3 * q.shape[0]] + q.shape.dropFirst(), scalars: q.scalars + k.scalars + v.scalars)
        }
        return out
    }
}
