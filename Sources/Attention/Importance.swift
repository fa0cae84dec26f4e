import Safety
import Tensors

/// Patch importance measures computed from a ViT's attention probabilities
/// (method.md, "Patch importance"). Letters: L layers, H heads, T tokens
/// (prefix tokens first, then P patches), so T = prefix + P.
/// Every measure returns P non-negative scores that sum to 1 per image.
/// The module knows tensors, not models: a ViT's forward pass gives the
/// class-token attention (B x L x H x T) and, when asked, every layer's
/// attention (B x L x H x T x T), and these turn them into B x P scores.
public enum Importance {
    /// Mean attention score (the paper's choice) of each image: the last
    /// layer's class-token rows of `classAttention` (B x L x H x T) averaged
    /// over heads, the prefix columns dropped, renormalised. B x P.
    public static func mean(classAttention: Tensor, prefixTokens: Int = 1) -> Tensor {
        let (b, l, h, t) = dims4(classAttention)
        return perImage(classAttention, count: b, stride: l * h * t, patches: t - prefixTokens) { p in
            mean(classRows: p + (l - 1) * h * t, heads: h, tokens: t, prefixTokens: prefixTokens)
        }
    }

    /// The authors' rollout of each image from every layer's attention
    /// `attention` (B x L x H x T x T). B x P.
    public static func rollout(attention: Tensor, prefixTokens: Int = 1) -> Tensor {
        let (b, l, h, t) = dims5(attention)
        return perImage(attention, count: b, stride: l * h * t * t, patches: t - prefixTokens) { p in
            rollout(attention: p, layers: l, heads: h, tokens: t, prefixTokens: prefixTokens)
        }
    }

    /// The textbook rollout of each image from `attention` (B x L x H x T x T). B x P.
    public static func textbookRollout(attention: Tensor, prefixTokens: Int = 1) -> Tensor {
        let (b, l, h, t) = dims5(attention)
        return perImage(attention, count: b, stride: l * h * t * t, patches: t - prefixTokens) { p in
            textbookRollout(attention: p, layers: l, heads: h, tokens: t, prefixTokens: prefixTokens)
        }
    }

    private static func dims4(_ a: Tensor) -> (Int, Int, Int, Int) {
        precondition(a.rank == 4, "class attention must be B x L x H x T, got \(a.shape)")
        return (a.shape[0], a.shape[1], a.shape[2], a.shape[3])
    }

    private static func dims5(_ a: Tensor) -> (Int, Int, Int, Int) {
        precondition(a.rank == 5 && a.shape[3] == a.shape[4], "attention must be B x L x H x T x T, got \(a.shape)")
        return (a.shape[0], a.shape[1], a.shape[2], a.shape[3])
    }

    /// B x `patches` scores, one image's block of `stride` values at a time.
    private static func perImage(_ a: Tensor, count b: Int, stride: Int, patches: Int,
                                 _ scores: (UnsafePointer<Float>) -> [Float]) -> Tensor {
        var out: [Float] = []
        out.reserveCapacity(b * patches)
        a.scalars.withUnsafeBufferPointer { p in
            for i in 0..<b { out += scores(p.baseAddress! + i * stride) }
        }
        return Tensor(shape: [b, patches], scalars: out)
    }

    /// Mean attention of one image: its last layer's class-token rows
    /// `rows` (H x T) averaged over heads, patch columns renormalised.
    static func mean(classRows rows: UnsafePointer<Float>, heads: Int, tokens: Int,
                     prefixTokens: Int = 1) -> [Float] {
        var v = [Float](repeating: 0, count: tokens)
        for h in 0..<heads {
            for j in 0..<tokens { v[j] += rows[h * tokens + j] }
        }
        return patchScores(v, prefixTokens: prefixTokens)
    }

    /// Attention rollout as the authors' code computes it: per head,
    /// J_h = (A_{L,h} + I) ... (A_{1,h} + I) with no renormalisation;
    /// J averaged over heads; its class row, patch columns, renormalised.
    /// `attention` holds every layer's probabilities, L x H x T x T.
    ///
    /// Only row 0 of J is needed, so it is computed as the row vector
    /// e_0ᵀ (A_L + I) ... (A_1 + I), from the last layer down: O(L H T²).
    static func rollout(attention: UnsafePointer<Float>, layers: Int, heads: Int, tokens: Int,
                        prefixTokens: Int = 1) -> [Float] {
        var total = [Float](repeating: 0, count: tokens)
        var v = [Float](repeating: 0, count: tokens), w = v
        for h in 0..<heads {
            for j in 0..<tokens { v[j] = j == 0 ? 1 : 0 }
            for l in stride(from: layers - 1, through: 0, by: -1) {
                let a = attention + (l * heads + h) * tokens * tokens
                w = v  // the identity term
                rowTimesMatrix(v, a, tokens, into: &w, weight: 1)
                swap(&v, &w)
            }
            for j in 0..<tokens { total[j] += v[j] }
        }
        return patchScores(total, prefixTokens: prefixTokens)
    }

    /// Textbook attention rollout (Abnar and Zuidema 2020): per layer,
    /// M_l = 0.5 mean_h(A_{l,h}) + 0.5 I, rows renormalised to sum 1;
    /// R = M_L ... M_1; the class row's patch columns, renormalised.
    /// `attention` is L x H x T x T.
    static func textbookRollout(attention: UnsafePointer<Float>, layers: Int, heads: Int, tokens: Int,
                                prefixTokens: Int = 1) -> [Float] {
        var v = [Float](repeating: 0, count: tokens)
        v[0] = 1
        var m = [Float](repeating: 0, count: tokens * tokens)
        var w = v
        for l in stride(from: layers - 1, through: 0, by: -1) {
            for i in 0..<(tokens * tokens) { m[i] = 0 }
            for h in 0..<heads {
                let a = attention + (l * heads + h) * tokens * tokens
                for i in 0..<(tokens * tokens) { m[i] += a[i] }
            }
            for i in 0..<tokens {
                var s: Float = 0
                for j in 0..<tokens {
                    m[i * tokens + j] = 0.5 * m[i * tokens + j] / Float(heads) + (i == j ? 0.5 : 0)
                    s += m[i * tokens + j]
                }
                for j in 0..<tokens { m[i * tokens + j] /= s }
            }
            for j in 0..<tokens { w[j] = 0 }
            m.withUnsafeBufferPointer { rowTimesMatrix(v, $0.baseAddress!, tokens, into: &w, weight: 1) }
            swap(&v, &w)
        }
        return patchScores(v, prefixTokens: prefixTokens)
    }

    /// w += weight · (v · A) for a T x T matrix A.
    private static func rowTimesMatrix(_ v: [Float], _ a: UnsafePointer<Float>, _ t: Int,
                                       into w: inout [Float], weight: Float) {
        w.withUnsafeMutableBufferPointer { w in
            for i in 0..<t where v[i] != 0 {
                let s = weight * v[i], row = a + i * t
                for j in 0..<t { w[j] += s * row[j] }
            }
        }
    }

    /// Every image's P scores under `measure` (B x P), from a forward pass's
    /// class-token attention (B x L x H x T) and, for the rollouts
    /// (`measure.needsEveryLayer`), every layer's attention (B x L x H x T x T).
    /// What a cache stores for each measure, computed live (`semcom edge`).
    public static func scores(_ measure: ImportanceMeasure, classAttention: Tensor, attention: Tensor?, prefixTokens: Int) -> Tensor {
        switch measure {
        case .mean: return mean(classAttention: classAttention, prefixTokens: prefixTokens)
        case .rollout: return rollout(attention: attention!, prefixTokens: prefixTokens)
        case .textbook: return textbookRollout(attention: attention!, prefixTokens: prefixTokens)
        case .head(let h):
            let (b, l, heads, t) = dims4(classAttention)
            precondition(h < heads, "head \(h) of \(heads)")
            let rows = (0..<b).flatMap { i in
                let start = ((i * l + l - 1) * heads + h) * t
                return patchScores(Array(classAttention.scalars[start..<(start + t)]), prefixTokens: prefixTokens)
            }
            return Tensor(shape: [b, t - prefixTokens], scalars: rows)
        }
    }

    /// Drops the prefix columns and renormalises the rest to sum 1.
    public static func patchScores(_ row: [Float], prefixTokens: Int) -> [Float] {
        let patches = Array(row[prefixTokens...])
        let s = patches.reduce(0, +)
        return s > 0 ? patches.map { $0 / s } : patches
    }
}

/// A patch-importance measure, by name: the one definition the cache, the
/// CLI's `--measure`, the REPL's `set measure` and `histogram` parse and print.
/// Adding a measure: a case here (its name in `parse`, `description` and
/// `syntax`; stored measures in `stored`), its computation in `Importance`,
/// and its dataset in the cache builder's output.
public enum ImportanceMeasure: Hashable, Sendable, CustomStringConvertible {
    /// The last layer's class-token attention, mean over heads (the paper's choice).
    case mean
    /// Attention rollout as the authors' code computes it.
    case rollout
    /// Abnar and Zuidema's rollout (each layer's A + I renormalised).
    case textbook
    /// Head I's last-layer class-token attention over the patches, renormalised.
    case head(Int)

    /// The measures a cache stores as N x P datasets (`head:I` is read off the
    /// stored last-layer attention).
    public static let stored: [ImportanceMeasure] = [.mean, .rollout, .textbook]

    /// Whether the measure needs every layer's attention matrices (the rollouts), not only the class-token rows.
    public var needsEveryLayer: Bool { self == .rollout || self == .textbook }

    /// The syntax, in words, for help texts and error messages.
    public static let syntax = "mean, rollout, textbook or head:I (I >= 0)"

    /// Parses `mean`, `rollout`, `textbook` or `head:I` (I >= 0); the error names the text.
    public static func parse(_ text: String) throws -> ImportanceMeasure {
        if let m = stored.first(where: { $0.description == text }) { return m }
        if text.hasPrefix("head:"), let i = Int(text.dropFirst(5)), i >= 0 { return .head(i) }
        throw MeasureError("measure '\(text)': expected \(syntax)")
    }

    public var description: String {
        switch self {
        case .mean: return "mean"
        case .rollout: return "rollout"
        case .textbook: return "textbook"
        case .head(let i): return "head:\(i)"
        }
    }
}

/// A measure that does not parse; one line naming the text.
public struct MeasureError: KindedError {
    public let description: String
    public var kind: ErrorKind { .badValue }
    public init(_ message: String) { description = message }
}
