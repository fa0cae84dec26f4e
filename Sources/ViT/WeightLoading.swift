import Foundation
import Safety
import Tensors

/// A weights file that does not fit the model, in one line naming the file
/// and the tensor(s); kind `corrupt` (a file that cannot be read is a
/// `TensorFileError` with its own kind), or `badValue` for an architecture
/// name the registry does not know.
public struct WeightsError: KindedError {
    public let path: String
    public let reason: String
    public var kind: ErrorKind = .corrupt
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
    /// `timm/deit_*_patch16_224.fb_in1k`) or the transformers layout as the
    /// Hugging Face checkpoints store it
    /// (`vit.encoder.layer.0.attention.attention.query.weight`, as in
    /// `facebook/deit-*-patch16-224`). A distilled DeiT has timm's
    /// `dist_token` and `head_dist.*` (transformers'
    /// `deit.embeddings.distillation_token`, `cls_classifier.*` and
    /// `distillation_classifier.*`, `DeiTForImageClassificationWithTeacher`).
    /// The configuration is read off the tensor shapes; `numHeads` (not visible in the shapes) comes from
    /// `heads`, else the `expected` architecture, else the file's
    /// `num_heads` metadata, else a `config.json` beside the file, else
    /// D / 64 as in every DeiT. With `expected`, the shapes must match that architecture.
    ///
    /// Checked, besides the file itself (`SafeTensors.init(path:)`): the
    /// shapes the configuration is read from (`cls_token` [1, 1, D],
    /// `patch_embed.proj.weight` [D, 3, p, p] with p > 0, `reg_token`
    /// [1, R, D] when present, `pos_embed` [1, prefix + a square number of
    /// patches, D] or (timm's `no_embed_class`, chosen by `expected`, else by
    /// which of the two is a square) [1, a square number of patches, D], with
    /// prefix = 1 + 1 with a `dist_token` + R; `head_dist.*` only with a
    /// `dist_token`, never both `dist_token` and `reg_token`), `head.weight` [C, D],
    /// `blocks.0.mlp.fc1.weight` [hidden, D], every size positive); the head
    /// count is a positive divisor of D (the width of each of q, k and v),
    /// and a `num_heads` in the metadata or `config.json` is an integer that
    /// agrees with `heads` or `expected` when given; then every tensor's shape.
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

        /// The shape of `key`, which must have as many dimensions as `pattern`, all positive.
        func shape(_ key: String, _ pattern: String) throws -> [Int] {
            guard let t = tensors[key] else { throw fail("missing tensor '\(key)'") }
            guard t.shape.count == pattern.split(separator: ",").count, t.shape.allSatisfy({ $0 > 0 }) else {
                throw fail("tensor '\(key)' has shape \(t.shape), expected [\(pattern)] (all positive)")
            }
            return t.shape
        }
        // Read the configuration off the shapes.
        let cls = try shape("cls_token", "1, 1, D")
        let d = cls[2]
        guard cls[0] == 1, cls[1] == 1 else {
            throw fail("tensor 'cls_token' has shape \(cls), expected [1, 1, D] (a distillation token is 'dist_token')")
        }
        let distilled = tensors["dist_token"] != nil
        if !distilled, let key = ["head_dist.weight", "head_dist.bias"].first(where: { tensors[$0] != nil }) {
            throw fail("tensor '\(key)' without 'dist_token': a distilled model needs both")
        }
        var registers = 0
        if tensors["reg_token"] != nil {
            let reg = try shape("reg_token", "1, R, \(d)")
            guard reg[0] == 1, reg[2] == d else { throw fail("tensor 'reg_token' has shape \(reg), expected [1, R, \(d)] (D from cls_token)") }
            guard !distilled else { throw fail("both 'dist_token' and 'reg_token': no DeiT or ViT has both") }
            registers = reg[1]
        }
        let prefix = 1 + (distilled ? 1 : 0) + registers
        if let t = tensors["patch_embed.proj.weight"], t.shape.count == 4, t.shape[2] == 0 || t.shape[3] == 0 {
            throw fail("tensor 'patch_embed.proj.weight' has shape \(t.shape): patch size 0")
        }
        let pe = try shape("patch_embed.proj.weight", "\(d), 3, p, p")
        guard pe[0] == d, pe[1] == 3, pe[2] == pe[3] else {
            throw fail("tensor 'patch_embed.proj.weight' has shape \(pe), expected [\(d), 3, p, p] (D \(d) from cls_token)")
        }
        let patch = pe[2]
        // pos_embed covers the prefix tokens and the patches, or (timm's no_embed_class) the patches only.
        let pos = try shape("pos_embed", "1, \(prefix) + patches, \(d)")
        guard pos[0] == 1, pos[2] == d else {
            throw fail("tensor 'pos_embed' has shape \(pos), expected [1, \(prefix) + patches, \(d)] (\(prefix) prefix token(s), D from cls_token \(cls))")
        }
        func isGrid(_ n: Int) -> Bool { n > 0 && Int(Double(n).squareRoot().rounded()) * Int(Double(n).squareRoot().rounded()) == n }
        let noEmbedClass: Bool
        if let e = expected { noEmbedClass = e.noEmbedClass }
        else if isGrid(pos[1] - prefix) && isGrid(pos[1]) {
            throw fail("pos_embed has \(pos[1]) tokens: \(pos[1] - prefix) patches after \(prefix) prefix tokens or \(pos[1]) without them; give the architecture")
        } else { noEmbedClass = !isGrid(pos[1] - prefix) && isGrid(pos[1]) }
        let patches = pos[1] - (noEmbedClass ? 0 : prefix)
        guard isGrid(patches) else {
            throw fail("pos_embed has \(pos[1]) tokens: \(patches) patches (after \(noEmbedClass ? 0 : prefix) prefix token(s)) is not a square grid")
        }
        let grid = Int(Double(patches).squareRoot().rounded())
        let headShape = try shape("head.weight", "classes, \(d)")
        let fc1 = try shape("blocks.0.mlp.fc1.weight", "hidden, \(d)")
        guard headShape[1] == d, fc1[1] == d else {
            throw fail("unexpected shapes: head.weight \(headShape), blocks.0.mlp.fc1.weight \(fc1) (D \(d) from cls_token)")
        }
        let hidden = fc1[0]
        // Blocks are numbered "blocks.<i>."; other names under "blocks." are left for `assemble` to report.
        let depth = Set(tensors.keys.compactMap { k -> Int? in
            guard k.hasPrefix("blocks.") else { return nil }
            return k.dropFirst("blocks.".count).split(separator: ".", omittingEmptySubsequences: false).first.flatMap { Int($0) }
        }).count
        let numHeads = try resolveHeads(embedDim: d, path: path, heads: heads, expected: expected?.numHeads,
                                        metadata: file.metadata["num_heads"], fail: fail)
        var config = ViTConfig(imageSize: grid * patch, patchSize: patch, embedDim: d, depth: depth,
                               numHeads: numHeads, numClasses: headShape[0], mlpHidden: hidden, distilled: distilled,
                               registerTokens: registers, noEmbedClass: noEmbedClass)
        if let e = expected {
            let mismatches = [("embed dim", e.embedDim, d), ("depth", e.depth, depth), ("patch size", e.patchSize, patch),
                              ("image size", e.imageSize, config.imageSize), ("mlp hidden", e.mlpHidden, hidden),
                              ("distillation tokens", e.distilled ? 1 : 0, distilled ? 1 : 0),
                              ("register tokens", e.registerTokens, registers)]
                .filter { $0.1 != $0.2 }.map { "\($0.0) \($0.2) (expected \($0.1))" }
            guard mismatches.isEmpty else { throw fail("weights do not match the architecture: " + mismatches.joined(separator: ", ")) }
            config.layerNormEps = e.layerNormEps
        }
        return (config, try assemble(config, tensors, fail: fail))
    }

    /// The head count: `heads`, else `expected`, else the metadata's
    /// `num_heads`, else the sibling `config.json`'s, else D / 64. Errors
    /// name the source: a metadata value that is not an integer or disagrees
    /// with `heads`/`expected`, or a count that does not divide D.
    static func resolveHeads(embedDim d: Int, path: String, heads: Int?, expected: Int?, metadata: String?,
                             fail: (String) -> WeightsError) throws -> Int {
        var declared: Int?
        if let metadata {
            guard let n = Int(metadata.trimmingCharacters(in: .whitespaces)) else {
                throw fail("field 'num_heads' of __metadata__ is '\(metadata)', not an integer")
            }
            declared = n
        }
        let given = heads.map { ($0, "the heads argument") } ?? expected.map { ($0, "the architecture") }
        if let (n, source) = given, let declared, declared != n {
            throw fail("field 'num_heads' of __metadata__ is \(declared), but \(source) gives \(n)")
        }
        let (n, source): (Int, String)
        if let given { (n, source) = given }
        else if let declared { (n, source) = (declared, "field 'num_heads' of __metadata__") }
        else if let (sibling, field) = try headsFromSiblingConfig(of: path) { (n, source) = (sibling, field) }
        else {
            guard d % 64 == 0 else { throw fail("cannot infer the number of heads for embed dim \(d): pass it explicitly") }
            (n, source) = (d / 64, "D / 64")
        }
        guard n > 0, d % n == 0 else {
            throw fail("num_heads \(n) (from \(source)) does not divide embed dim \(d), the width of each of q, k and v in blocks.*.attn.qkv.weight")
        }
        return n
    }

    /// The head count from a `config.json` beside the weights, as Hugging
    /// Face repositories ship it: `num_heads`, transformers'
    /// `num_attention_heads`, or timm's `architecture` naming a preset; with
    /// the field it came from. Nil without such a file or field; an error
    /// (naming `config.json` and the field) for a file that is not a regular
    /// file holding a JSON object, or a head count that is not an integer.
    static func headsFromSiblingConfig(of path: String) throws -> (Int, String)? {
        let url = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        func fail(_ r: String) -> WeightsError { WeightsError(path: url.path, reason: r) }
        let data: Data
        do { data = try mapRegularFile(url.path) } catch let e as FileCheckError { throw fail(e.reason) }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw fail("not a JSON object")
        }
        for key in ["num_heads", "num_attention_heads"] {
            guard let value = json[key] else { continue }
            guard let n = value as? Int else {
                throw fail("field '\(key)' is \(value), not an integer")
            }
            return (n, "field '\(key)' of \(url.path)")
        }
        if let arch = json["architecture"] as? String, let n = ModelRegistry.architecture(named: arch)?.config.numHeads {
            return (n, "field 'architecture' of \(url.path)")
        }
        return nil
    }

    /// The tensors of configuration `c`, by timm name, with their shapes.
    static func expectedShapes(_ c: ViTConfig) -> [(String, [Int])] {
        let d = c.embedDim
        func linear(_ key: String, _ i: Int, _ o: Int) -> [(String, [Int])] { [(key + ".weight", [o, i]), (key + ".bias", [o])] }
        func norm(_ key: String) -> [(String, [Int])] { [(key + ".weight", [d]), (key + ".bias", [d])] }
        var all = [("patch_embed.proj.weight", [d, 3, c.patchSize, c.patchSize]), ("patch_embed.proj.bias", [d]),
                   ("cls_token", [1, 1, d]), ("pos_embed", [1, c.posEmbedTokens, d])]
        if c.distilled { all.append(("dist_token", [1, 1, d])) }
        if c.registerTokens > 0 { all.append(("reg_token", [1, c.registerTokens, d])) }
        for i in 0..<c.depth {
            let p = "blocks.\(i)."
            all += norm(p + "norm1") + linear(p + "attn.qkv", d, 3 * d) + linear(p + "attn.proj", d, d)
                + norm(p + "norm2") + linear(p + "mlp.fc1", d, c.mlpHidden) + linear(p + "mlp.fc2", c.mlpHidden, d)
        }
        return all + norm("norm") + linear("head", d, c.numClasses) + (c.distilled ? linear("head_dist", d, c.numClasses) : [])
    }

    /// Builds the weights from timm-named tensors, first checking every
    /// shape against `expectedShapes` and refusing missing or unexpected
    /// tensors (so nothing is allocated for a tensor that is not there).
    static func assemble(_ c: ViTConfig, _ tensors: [String: Tensor], fail: (String) -> WeightsError) throws -> ViTWeights {
        let expected = expectedShapes(c)
        var missing: [String] = []
        for (key, shape) in expected {
            guard let t = tensors[key] else { missing.append(key); continue }
            guard t.shape == shape else { throw fail("tensor '\(key)' has shape \(t.shape), expected \(shape)") }
        }
        if !missing.isEmpty { throw fail("missing tensor(s): " + missing.joined(separator: ", ")) }
        let unexpected = Set(tensors.keys).subtracting(expected.map(\.0)).sorted()
        if !unexpected.isEmpty { throw fail("unexpected tensor(s): " + unexpected.prefix(8).joined(separator: ", ")) }

        func take(_ key: String) -> [Float] { tensors[key]?.scalars ?? [] }  // present: checked above
        func linear(_ key: String, _ i: Int, _ o: Int) -> Linear {
            Linear(weight: take(key + ".weight"), bias: take(key + ".bias"), inFeatures: i, outFeatures: o)
        }
        func norm(_ key: String) -> LayerNorm { LayerNorm(weight: take(key + ".weight"), bias: take(key + ".bias")) }
        let d = c.embedDim
        return ViTWeights(
            patchEmbed: PatchEmbed(proj: linear("patch_embed.proj", c.patchDim, d), patchSize: c.patchSize),
            clsToken: take("cls_token"),
            distToken: c.distilled ? take("dist_token") : nil,
            regToken: c.registerTokens > 0 ? take("reg_token") : nil,
            posEmbed: take("pos_embed"),
            blocks: (0..<c.depth).map { i in
                let p = "blocks.\(i)."
                return Block(norm1: norm(p + "norm1"),
                             attn: SelfAttention(qkv: linear(p + "attn.qkv", d, 3 * d), proj: linear(p + "attn.proj", d, d)),
                             norm2: norm(p + "norm2"),
                             mlp: MLP(fc1: linear(p + "mlp.fc1", d, c.mlpHidden), fc2: linear(p + "mlp.fc2", c.mlpHidden, d)))
            },
            norm: norm("norm"),
            head: linear("head", d, c.numClasses),
            headDist: c.distilled ? linear("head_dist", d, c.numClasses) : nil)
    }

    /// Key renames from the transformers layout to timm's, applied in order
    /// to the name without its `vit.`/`deit.` prefix.
    static let renames: [(String, String)] = [
        ("embeddings.cls_token", "cls_token"),
        ("embeddings.distillation_token", "dist_token"),
        ("embeddings.position_embeddings", "pos_embed"),
        ("embeddings.patch_embeddings.projection.", "patch_embed.proj."),
        ("encoder.layer.", "blocks."),
        (".attention.output.dense.", ".attn.proj."),
        (".intermediate.dense.", ".mlp.fc1."),
        (".output.dense.", ".mlp.fc2."),
        (".layernorm_before.", ".norm1."),
        (".layernorm_after.", ".norm2."),
        ("layernorm.", "norm."),
        ("distillation_classifier.", "head_dist."),  // DeiTForImageClassificationWithTeacher
        ("cls_classifier.", "head."),
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
            if k == "cls_token" || k == "dist_token" || k == "pos_embed" || k.hasPrefix("patch_embed") || k.hasPrefix("blocks.") || k.hasPrefix("norm.") || k.hasPrefix("head.") || k.hasPrefix("head_dist.") {
                out[k] = t
            } else {
                out[key] = t  // left as is: strict verification reports it as unexpected
            }
        }
        for (target, parts) in qkvParts {
            guard let q = parts["query"], let k = parts["key"], let v = parts["value"] else {
                throw fail("\(target): query, key and value are not all present (have \(parts.keys.sorted()))")
            }
            guard q.shape == k.shape, q.shape == v.shape, let rows = q.shape.first else {
                throw fail("\(target): query/key/value shapes differ or are scalars (\(q.shape), \(k.shape), \(v.shape))")
            }
            out[target] = Tensor(shape: [3 * rows] + q.shape.dropFirst(), scalars: q.scalars + k.scalars + v.scalars)
        }
        return out
    }
}
