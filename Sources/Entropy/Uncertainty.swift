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

    /// Parses `none`, `min:0.8`, `shannon:H`, `margin:M`, `renyi:ALPHA:H` (ALPHA may be `inf`).
    public init?(parsing text: String) {
        let parts = text.split(separator: ":").map(String.init)
        func number(_ s: String) -> Double? { s == "inf" ? .infinity : Double(s) }
        switch (parts.first, parts.count) {
        case ("none", 1): self = .none
        case ("min", 2): guard let t = number(parts[1]) else { return nil }; self = .minEntropy(t)
        case ("shannon", 2): guard let t = number(parts[1]) else { return nil }; self = .shannon(t)
        case ("margin", 2): guard let t = number(parts[1]) else { return nil }; self = .margin(t)
        case ("renyi", 3):
            guard let a = number(parts[1]), a >= 0, let t = number(parts[2]) else { return nil }
            self = .renyi(alpha: a, threshold: t)
        default: return nil
        }
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
