import Foundation

/// Uncertainty of a classifier's softmax output (method.md, "Entropy-aware
/// transmission"). All functions are pure; entropies are in bits.
public enum Uncertainty {
    /// Softmax of `logits / temperature`, computed in Double:
    /// p_i = e^(z_i/T - m) / sum_j e^(z_j/T - m), m = max_j z_j/T.
    public static func probabilities(_ logits: ArraySlice<Float>, temperature: Double = 1) -> [Double] {
        precondition(temperature > 0, "temperature must be positive")
        let m = Double(logits.max() ?? 0) / temperature
        let e = logits.map { Foundation.exp(Double($0) / temperature - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    /// Shannon entropy H = -sum_i p_i log2 p_i (0 log 0 = 0); in [0, log2 C].
    public static func shannon(_ p: [Double]) -> Double {
        -p.reduce(0) { $1 > 0 ? $0 + $1 * Foundation.log2($1) : $0 }
    }

    /// Min-entropy H_inf = -log2 max_i p_i (the paper's measure); in [0, log2 C].
    public static func minEntropy(_ p: [Double]) -> Double {
        -Foundation.log2(p.max() ?? 1)
    }

    /// Margin p(1st) - p(2nd); in [0, 1]. High margin means confident.
    public static func margin(_ p: [Double]) -> Double {
        var first = 0.0, second = 0.0
        for v in p {
            if v > first { second = first; first = v } else if v > second { second = v }
        }
        return first - second
    }

    /// Rényi entropy of order alpha >= 0:
    /// H_alpha = log2(sum_i p_i^alpha) / (1 - alpha);
    /// alpha = 1 is Shannon's (the limit), alpha = infinity is the min-entropy,
    /// alpha = 0 is log2 of the support size. Non-increasing in alpha.
    public static func renyi(_ p: [Double], alpha: Double) -> Double {
        precondition(alpha >= 0, "Rényi order must be non-negative")
        if alpha == 1 { return shannon(p) }
        if alpha.isInfinite { return minEntropy(p) }
        if alpha == 0 { return Foundation.log2(Double(p.filter { $0 > 0 }.count)) }
        // Factor out the largest probability for stability at large alpha.
        let m = p.max() ?? 1
        let s = p.reduce(0) { $1 > 0 ? $0 + Foundation.pow($1 / m, alpha) : $0 }
        return (alpha * Foundation.log2(m) + Foundation.log2(s)) / (1 - alpha)
    }
}

/// When an image stays on the edge: a gate on the edge's softmax.
public enum Gate: Equatable, Sendable, CustomStringConvertible {
    /// Every image is sent.
    case none
    /// Kept on the edge when the min-entropy is below the threshold (bits).
    case minEntropy(Double)
    /// Kept when the Shannon entropy is below the threshold (bits).
    case shannon(Double)
    /// Kept when the margin is above the threshold.
    case margin(Double)
    /// Kept when the Rényi entropy of order alpha is below the threshold (bits).
    case renyi(alpha: Double, threshold: Double)

    /// The uncertainty score this gate compares, oriented so that larger
    /// means less confident (the margin is negated), or nil for `.none`.
    public func score(_ p: [Double]) -> Double? {
        switch self {
        case .none: return nil
        case .minEntropy: return Uncertainty.minEntropy(p)
        case .shannon: return Uncertainty.shannon(p)
        case .margin: return -Uncertainty.margin(p)
        case .renyi(let alpha, _): return Uncertainty.renyi(p, alpha: alpha)
        }
    }

    /// The threshold on `score`'s scale: an image is sent when score >= it.
    public var scoreThreshold: Double {
        switch self {
        case .none: return -.infinity
        case .minEntropy(let t), .shannon(let t): return t
        case .margin(let m): return -m
        case .renyi(_, let t): return t
        }
    }

    /// True when the image with softmax `p` goes to the server.
    public func sends(_ p: [Double]) -> Bool {
        guard let s = score(p) else { return true }
        return s >= scoreThreshold
    }

    /// The same gate with another threshold (for sweeps).
    public func with(threshold t: Double) -> Gate {
        switch self {
        case .none: return .none
        case .minEntropy: return .minEntropy(t)
        case .shannon: return .shannon(t)
        case .margin: return .margin(t)
        case .renyi(let a, _): return .renyi(alpha: a, threshold: t)
        }
    }

    /// Parses `none`, `min:0.8`, `shannon:H`, `margin:M`, `renyi:ALPHA:H` (ALPHA may be `inf`); nil when `parse` throws.
    public init?(parsing text: String) {
        guard let gate = try? Gate.parse(text) else { return nil }
        self = gate
    }

    /// The syntax, in words, for help texts and error messages.
    public static let syntax = "min:H, shannon:H (H >= 0 bits), margin:M (M in [0, 1]), renyi:ALPHA:H (ALPHA > 0 or inf) or none"

    /// Parses `none`, `min:H`, `shannon:H`, `margin:M`, `renyi:ALPHA:H`, each
    /// number in its meaningful range: entropies H finite and >= 0 (bits),
    /// margins M in [0, 1], Rényi orders ALPHA > 0 (`inf`: the min-entropy).
    /// The error names the text and the range.
    public static func parse(_ text: String) throws -> Gate {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let usage = "expected \(syntax)"
        func number(_ s: String) throws -> Double {
            guard let x = s == "inf" ? .infinity : Double(s) else { throw GateError("gate '\(text)': '\(s)' is not a number; \(usage)") }
            return x
        }
        let kind: Gate
        switch (parts.first, parts.count) {
        case ("none", 1): return .none
        case ("min", 2): kind = .minEntropy(0)
        case ("shannon", 2): kind = .shannon(0)
        case ("margin", 2): kind = .margin(0)
        case ("renyi", 3):
            let a = try number(parts[1])
            guard a > 0 else { throw GateError("gate '\(text)': Rényi order \(a) is out of range: expected ALPHA > 0 (or inf)") }
            kind = .renyi(alpha: a, threshold: 0)
        default: throw GateError("gate '\(text)': \(usage)")
        }
        let t = try number(parts[parts.count - 1])
        do { return try kind.checked(threshold: t) } catch let e as GateError { throw GateError("gate '\(text)': \(e.description)") }
    }

    /// The threshold's meaningful range, in words.
    public var range: String {
        switch self {
        case .none: return "the gate none has no threshold"
        case .minEntropy, .shannon, .renyi: return "an entropy threshold in bits, finite and >= 0"
        case .margin: return "a margin threshold in [0, 1]"
        }
    }

    /// The same gate with threshold `t`, refused unless `t` is in the
    /// gate's range (see `parse`). Sweeps check every value with it.
    public func checked(threshold t: Double) throws -> Gate {
        let ok: Bool
        switch self {
        case .none: throw GateError("\(t) is out of range: \(range)")
        case .minEntropy, .shannon, .renyi: ok = t.isFinite && t >= 0
        case .margin: ok = t.isFinite && (0...1).contains(t)
        }
        guard ok else { throw GateError("\(t) is out of range: expected \(range)") }
        return with(threshold: t)
    }

    /// Checks a softmax temperature: finite and > 0.
    public static func check(temperature t: Double) throws {
        guard t.isFinite, t > 0 else { throw GateError("temperature \(t) is out of range: expected a finite number > 0") }
    }

    public var description: String {
        switch self {
        case .none: return "none"
        case .minEntropy(let t): return "min:\(t)"
        case .shannon(let t): return "shannon:\(t)"
        case .margin(let t): return "margin:\(t)"
        case .renyi(let a, let t): return "renyi:\(a.isInfinite ? "inf" : "\(a)"):\(t)"
        }
    }
}

/// A gate, its threshold or a temperature out of range; one line naming the value.
public struct GateError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}
