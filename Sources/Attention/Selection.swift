import Safety
import Tensors

/// Patch orderings and selection rules (method.md, "Patch selection rules").
/// Every rule keeps a prefix of one ordering, so a rule is a function from an
/// image's sorted scores to k, the number of patches kept.
public enum Ordering {
    /// Patch indices sorted by score, descending; ties: lower index first.
    public static func byScore(_ scores: ArraySlice<Float>) -> [Int] {
        let base = scores.startIndex
        return scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }.map { $0 - base }
    }

    /// A uniformly random permutation of `patches` indices, fixed by
    /// (seed, image): the random-patch baseline's ordering.
    public static func random(patches: Int, seed: UInt64, image: Int) -> [Int] {
        var rng = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(image))
        var order = Array(0..<patches)
        for i in stride(from: patches - 1, to: 0, by: -1) {
            order.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
        return order
    }
}

/// How many of an image's patches to keep, given its scores sorted in
/// descending order: what every selection rule is. `Setting.rule`, sweeps and
/// evaluations take any conforming type.
///
/// Where a new rule goes: a rule of this package is one case of
/// `SelectionRule` below (its criterion, parameter, parsing, printing and
/// range, all in this file) plus its test in `Tests/AttentionTests`; a rule
/// of your own is one type conforming to this protocol, in your package,
/// used as `SelectionRule.custom(MyRule(...))` (`Examples/Sources/NewRule`).
public protocol SelectionRuleProtocol: Sendable, CustomStringConvertible {
    /// k for one image: `sorted` holds its P scores in descending order;
    /// the rule keeps the first k (0 <= k <= P) of them.
    func keep(sorted: ArraySlice<Float>) -> Int
    /// The number a sweep varies (a k, a threshold).
    var parameter: Double { get }
    /// The same rule with another parameter (for sweeps).
    func with(parameter x: Double) -> Self
    /// The same rule with parameter `x`, refused (throwing a `RuleError`)
    /// unless `x` is in the rule's range. Default: `x` finite.
    func checked(parameter x: Double) throws -> Self
    /// Refused (throwing a `RuleError`) when the rule cannot apply to a run
    /// of `patches` patches. Default: every P.
    func check(patches p: Int) throws
    /// True when the rule's ordering is random rather than by importance
    /// (the scores it sees are then all 1/P). Default: false.
    var isRandom: Bool { get }
    /// The rule as one of the criteria that sweeps evaluate for many
    /// parameters in one pass, or nil (default): `keep(sorted:)` is then
    /// called on every image, O(P) each.
    var criterion: SelectionRule.Criterion? { get }
}

extension SelectionRuleProtocol {
    public func checked(parameter x: Double) throws -> Self {
        guard x.isFinite else { throw RuleError("\(x) is out of range: expected a finite number") }
        return with(parameter: x)
    }
    public func check(patches p: Int) throws {}
    public var isRandom: Bool { false }
    public var criterion: SelectionRule.Criterion? { nil }
}

/// The selection rules of the paper and its baselines, and rules of your own.
public enum SelectionRule: SelectionRuleProtocol, Equatable {
    /// The first k patches.
    case topK(Int)
    /// Every patch whose score is >= tau.
    case threshold(Double)
    /// The longest prefix whose cumulative score is <= delta (the kept mass
    /// never exceeds delta; delta >= 1 keeps every patch).
    case sum(Double)
    /// k patches uniformly at random (the first k of a random ordering).
    case randomK(Int)
    /// A rule defined outside this package. Two custom rules are equal when
    /// their descriptions are (the description names the rule and its parameter).
    case custom(any SelectionRuleProtocol)

    public static func == (a: SelectionRule, b: SelectionRule) -> Bool {
        switch (a, b) {
        case (.topK(let x), .topK(let y)), (.randomK(let x), .randomK(let y)): return x == y
        case (.threshold(let x), .threshold(let y)), (.sum(let x), .sum(let y)): return x == y
        case (.custom(let x), .custom(let y)): return x.description == y.description
        default: return false
        }
    }

    /// How a rule turns an image's sorted scores into k: the one definition
    /// behind `keep(sorted:)` and the batched path (`Collaborative`'s
    /// `SortedScores.keep`, which evaluates many parameters of one criterion
    /// in one pass over each image).
    public enum Criterion: Equatable, Sendable {
        /// The first k patches (at most P).
        case first(Int)
        /// The longest prefix whose scores are each >= t (scores descend, so
        /// it holds every score >= t).
        case scoresAtLeast(Double)
        /// The longest prefix whose running sum of scores stays <= t.
        case runningSumAtMost(Double)

        /// Whether the patch at sorted position j is kept, given its score and
        /// the running sum through it (for `.first`: whether j < k).
        @inline(__always)
        public func keeps(position j: Int, score: Float, runningSum: Double) -> Bool {
            switch self {
            case .first(let k): return j < k
            case .scoresAtLeast(let t): return Double(score) >= t
            case .runningSumAtMost(let t): return runningSum <= t
            }
        }

        /// k for one image: the longest prefix of `sorted` (descending) whose
        /// every position `keeps`.
        public func keep(sorted: ArraySlice<Float>) -> Int {
            var k = 0, total = 0.0
            for s in sorted {
                total += Double(s)
                guard keeps(position: k, score: s, runningSum: total) else { break }
                k += 1
            }
            return k
        }
    }

    /// The rule's criterion (never nil for a built-in rule). `sum:D` with
    /// D >= 1 keeps every patch (running sums of scores that sum to 1 may
    /// exceed 1 by rounding).
    public var criterion: Criterion? {
        switch self {
        case .topK(let k), .randomK(let k): return .first(k)
        case .threshold(let tau): return .scoresAtLeast(tau)
        case .sum(let delta): return delta >= 1 ? .first(Int.max) : .runningSumAtMost(delta)
        case .custom(let rule): return rule.criterion
        }
    }

    /// k for one image. `sorted` holds its P scores in descending order.
    public func keep(sorted: ArraySlice<Float>) -> Int {
        if case .custom(let rule) = self { return rule.keep(sorted: sorted) }
        return criterion!.keep(sorted: sorted)
    }

    /// The rule's parameter (k or threshold).
    public var parameter: Double {
        switch self {
        case .topK(let k), .randomK(let k): return Double(k)
        case .threshold(let t), .sum(let t): return t
        case .custom(let rule): return rule.parameter
        }
    }

    /// True for the rules whose ordering is random rather than by importance.
    public var isRandom: Bool {
        switch self {
        case .randomK: return true
        case .custom(let rule): return rule.isRandom
        case .topK, .threshold, .sum: return false
        }
    }

    /// The same rule with another parameter (for sweeps; k is rounded).
    public func with(parameter x: Double) -> SelectionRule {
        switch self {
        case .topK: return .topK(Int(x.rounded()))
        case .randomK: return .randomK(Int(x.rounded()))
        case .threshold: return .threshold(x)
        case .sum: return .sum(x)
        case .custom(let rule): return .custom(rule.with(parameter: x))
        }
    }

    /// Parses `topk:K`, `threshold:T`, `sum:D`, `random:K`; nil when `parse` throws.
    public init?(parsing text: String) {
        guard let rule = try? SelectionRule.parse(text) else { return nil }
        self = rule
    }

    /// The syntax, in words, for help texts and error messages.
    public static let syntax = "sum:D (D in [0, 1]), threshold:T (T in [0, 1]), topk:K or random:K (K in [1, patches])"

    /// The largest k `topk:K` and `random:K` accept before a cache says how
    /// many patches its runs have (`check(patches:)` then bounds k by P).
    public static let maxK = 1_000_000

    /// Parses `topk:K`, `threshold:T`, `sum:D`, `random:K`, each parameter in
    /// its meaningful range (`checked(parameter:)`); the error names the text.
    public static func parse(_ text: String) throws -> SelectionRule {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let kinds: [String: SelectionRule] = ["topk": .topK(1), "random": .randomK(1), "threshold": .threshold(0), "sum": .sum(0)]
        guard parts.count == 2, let kind = kinds[parts[0]] else {
            throw RuleError("rule '\(text)': expected \(syntax)")
        }
        guard let x = Double(parts[1]) else { throw RuleError("rule '\(text)': '\(parts[1])' is not a number; \(kind.range)") }
        do { return try kind.checked(parameter: x) } catch let e as RuleError { throw RuleError("rule '\(text)': \(e.description)") }
    }

    /// The rule's parameter's meaningful range, in words.
    public var range: String {
        switch self {
        case .topK: return "topk:K takes a whole number of patches K in [1, P] (P: the run's patches, at most \(Self.maxK))"
        case .randomK: return "random:K takes a whole number of patches K in [1, P] (P: the run's patches, at most \(Self.maxK))"
        case .threshold: return "threshold:T takes a score threshold T in [0, 1]"
        case .sum: return "sum:D takes an attention-sum delta D in [0, 1]"
        case .custom(let rule): return "\(rule) takes a parameter in its own range"
        }
    }

    /// The same rule with parameter `x`, refused unless `x` is finite and in
    /// the rule's range: k a whole number in [1, maxK], tau and delta in [0, 1].
    /// Sweeps check every value with it before any work.
    public func checked(parameter x: Double) throws -> SelectionRule {
        switch self {
        case .topK, .randomK:
            guard x.isFinite, x == x.rounded(), x >= 1, x <= Double(Self.maxK) else { throw RuleError("\(x.cleanText) is out of range: \(range)") }
            return with(parameter: x)
        case .threshold, .sum:
            guard x.isFinite, (0...1).contains(x) else { throw RuleError("\(x.cleanText) is out of range: \(range)") }
            return with(parameter: x)
        case .custom(let rule): return .custom(try rule.checked(parameter: x))
        }
    }

    /// Refused when the rule keeps more patches than the run has (k > P).
    public func check(patches p: Int) throws {
        switch self {
        case .topK(let k), .randomK(let k):
            guard k <= p else { throw RuleError("rule '\(self)': k = \(k) but the run has \(p) patches (expected 1 <= k <= \(p))") }
        case .threshold, .sum: return
        case .custom(let rule): try rule.check(patches: p)
        }
    }

    public var description: String {
        switch self {
        case .topK(let k): return "topk:\(k)"
        case .randomK(let k): return "random:\(k)"
        case .threshold(let t): return "threshold:\(t)"
        case .sum(let d): return "sum:\(d)"
        case .custom(let rule): return rule.description
        }
    }
}

/// A selection rule or its parameter out of range; one line naming the value.
public struct RuleError: KindedError {
    public let description: String
    public var kind: ErrorKind { .badValue }
    public init(_ message: String) { description = message }
}

extension Double {
    /// `1.0` as `1`, and everything else as Swift prints it (for messages).
    var cleanText: String { isFinite && self == rounded() && abs(self) < 1e15 ? String(Int64(self)) : "\(self)" }
}
