import Foundation
import Safety

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

/// A number that says how uncertain a classifier's softmax output is: what
/// a `Gate` compares with its threshold.
///
/// Where a new measure goes: a measure of this package is one case of
/// `UncertaintyMeasure` below (its value, direction, thresholds' range and
/// name, and its syntax in `Gate.parse`, all in this file) plus its test in
/// `Tests/EntropyTests`; gates, sweeps, the CLI and the REPL take it from
/// there. A measure of your own is one type conforming to this protocol, in
/// your package, used as `Gate.threshold(.custom(MyMeasure()), t)`
/// (`Examples/Sources/NewGate`).
public protocol UncertaintyMeasureProtocol: Sendable, CustomStringConvertible {
    /// The measure of softmax `p` (C probabilities summing to 1).
    func value(_ p: [Double]) -> Double
    /// Whether a larger value means a less confident prediction (an entropy)
    /// rather than a more confident one (a margin). Default: true.
    var growsWithUncertainty: Bool { get }
    /// The thresholds that mean something. Default: finite.
    func accepts(threshold t: Double) -> Bool
    /// `accepts(threshold:)` in words, for error messages.
    var thresholdRange: String { get }
    // `description` names the measure; two measures with the same description
    // are taken to be the same (gates compare and memoise by it).
}

extension UncertaintyMeasureProtocol {
    public var growsWithUncertainty: Bool { true }
    public func accepts(threshold t: Double) -> Bool { t.isFinite }
    public var thresholdRange: String { "a finite threshold" }
}

/// The uncertainty measures of the paper and its comparisons, and measures of your own.
public enum UncertaintyMeasure: UncertaintyMeasureProtocol, Hashable {
    /// -log2 max p (bits; the paper's measure).
    case minEntropy
    /// Shannon entropy (bits).
    case shannon
    /// p(1st) - p(2nd): larger means more confident.
    case margin
    /// Rényi entropy of order alpha > 0 (bits; alpha = inf is the min-entropy).
    case renyi(alpha: Double)
    /// A measure defined outside this package; measures are equal (and hash)
    /// by their descriptions.
    case custom(any UncertaintyMeasureProtocol)

    public static func == (a: UncertaintyMeasure, b: UncertaintyMeasure) -> Bool { a.description == b.description }
    public func hash(into h: inout Hasher) { h.combine(description) }

    /// The measure of softmax `p`.
    public func value(_ p: [Double]) -> Double {
        switch self {
        case .minEntropy: return Uncertainty.minEntropy(p)
        case .shannon: return Uncertainty.shannon(p)
        case .margin: return Uncertainty.margin(p)
        case .renyi(let alpha): return Uncertainty.renyi(p, alpha: alpha)
        case .custom(let m): return m.value(p)
        }
    }

    /// Whether a larger value means a less confident prediction (entropies)
    /// rather than a more confident one (the margin).
    public var growsWithUncertainty: Bool {
        switch self {
        case .margin: return false
        case .custom(let m): return m.growsWithUncertainty
        case .minEntropy, .shannon, .renyi: return true
        }
    }

    /// The thresholds that mean something: entropies finite and >= 0, margins in [0, 1].
    public func accepts(threshold t: Double) -> Bool {
        if case .custom(let m) = self { return m.accepts(threshold: t) }
        return t.isFinite && t >= 0 && (self != .margin || t <= 1)
    }

    /// `accepts(threshold:)` in words.
    public var thresholdRange: String {
        switch self {
        case .margin: return "a margin threshold in [0, 1]"
        case .custom(let m): return m.thresholdRange
        case .minEntropy, .shannon, .renyi: return "an entropy threshold in bits, finite and >= 0"
        }
    }

    /// `min`, `shannon`, `margin`, `renyi:ALPHA` (`inf` for an infinite order).
    public var description: String {
        switch self {
        case .minEntropy: return "min"
        case .shannon: return "shannon"
        case .margin: return "margin"
        case .renyi(let a): return "renyi:\(a.isInfinite ? "inf" : "\(a)")"
        case .custom(let m): return m.description
        }
    }
}

/// When an image goes to the server: an uncertainty measure of the edge's
/// softmax against a threshold, in the measure's direction (an entropy at or
/// above it, a margin at or below it), or always (`none`).
public enum Gate: Equatable, Sendable, CustomStringConvertible {
    /// Every image is sent.
    case none
    /// Sent when `measure` says the edge is at least this uncertain.
    case threshold(UncertaintyMeasure, Double)

    /// Kept on the edge when the min-entropy is below `t` bits.
    public static func minEntropy(_ t: Double) -> Gate { .threshold(.minEntropy, t) }
    /// Kept when the Shannon entropy is below `t` bits.
    public static func shannon(_ t: Double) -> Gate { .threshold(.shannon, t) }
    /// Kept when the margin is above `t`.
    public static func margin(_ t: Double) -> Gate { .threshold(.margin, t) }
    /// Kept when the Rényi entropy of order alpha is below `threshold` bits.
    public static func renyi(alpha: Double, threshold: Double) -> Gate { .threshold(.renyi(alpha: alpha), threshold) }

    /// The measure, or nil for `none`.
    public var measure: UncertaintyMeasure? { if case .threshold(let m, _) = self { return m } else { return nil } }

    /// The threshold as written (bits, or a margin); 0 for `none`.
    public var thresholdValue: Double { if case .threshold(_, let t) = self { return t } else { return 0 } }

    /// The uncertainty score this gate compares, oriented so that larger
    /// means less confident (a margin is negated), or nil for `.none`.
    public func score(_ p: [Double]) -> Double? {
        guard case .threshold(let m, _) = self else { return nil }
        return m.growsWithUncertainty ? m.value(p) : -m.value(p)
    }

    /// The threshold on `score`'s scale: an image is sent when score >= it.
    public var scoreThreshold: Double {
        guard case .threshold(let m, let t) = self else { return -.infinity }
        return m.growsWithUncertainty ? t : -t
    }

    /// True when the image with softmax `p` goes to the server.
    public func sends(_ p: [Double]) -> Bool {
        guard let s = score(p) else { return true }
        return s >= scoreThreshold
    }

    /// The same gate with another threshold (for sweeps).
    public func with(threshold t: Double) -> Gate {
        guard case .threshold(let m, _) = self else { return .none }
        return .threshold(m, t)
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
        let measure: UncertaintyMeasure
        switch (parts.first, parts.count) {
        case ("none", 1): return .none
        case ("min", 2): measure = .minEntropy
        case ("shannon", 2): measure = .shannon
        case ("margin", 2): measure = .margin
        case ("renyi", 3):
            let a = try number(parts[1])
            guard a > 0 else { throw GateError("gate '\(text)': Rényi order \(a) is out of range: expected ALPHA > 0 (or inf)") }
            measure = .renyi(alpha: a)
        default: throw GateError("gate '\(text)': \(usage)")
        }
        let t = try number(parts[parts.count - 1])
        do { return try Gate.threshold(measure, 0).checked(threshold: t) } catch let e as GateError { throw GateError("gate '\(text)': \(e.description)") }
    }

    /// The threshold's meaningful range, in words.
    public var range: String { measure?.thresholdRange ?? "the gate none has no threshold" }

    /// The same gate with threshold `t`, refused unless `t` is in the
    /// measure's range (see `parse`). Sweeps check every value with it.
    public func checked(threshold t: Double) throws -> Gate {
        guard let m = measure else { throw GateError("\(t) is out of range: \(range)") }
        guard m.accepts(threshold: t) else { throw GateError("\(t) is out of range: expected \(range)") }
        return .threshold(m, t)
    }

    /// Checks a softmax temperature: finite and > 0.
    public static func check(temperature t: Double) throws {
        guard t.isFinite, t > 0 else { throw GateError("temperature \(t) is out of range: expected a finite number > 0") }
    }

    public var description: String {
        guard case .threshold(let m, let t) = self else { return "none" }
        return "\(m):\(t)"
    }
}

/// A gate, its threshold or a temperature out of range; one line naming the value.
public struct GateError: KindedError {
    public let description: String
    public var kind: ErrorKind { .badValue }
    public init(_ message: String) { description = message }
}
