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

/// How many of an image's patches to keep, given its scores sorted in descending order.
public enum SelectionRule: Equatable, Sendable, CustomStringConvertible {
    /// The first k patches.
    case topK(Int)
    /// Every patch whose score is >= tau.
    case threshold(Double)
    /// The longest prefix whose cumulative score is <= delta (the kept mass
    /// never exceeds delta; delta >= 1 keeps every patch).
    case sum(Double)
    /// k patches uniformly at random (the first k of a random ordering).
    case randomK(Int)

    /// k for one image. `sorted` holds its P scores in descending order.
    public func keep(sorted: ArraySlice<Float>) -> Int {
        let p = sorted.count
        switch self {
        case .topK(let k), .randomK(let k):
            return max(0, min(k, p))
        case .threshold(let tau):
            var k = 0
            for s in sorted where Double(s) >= tau { k += 1 }
            return k
        case .sum(let delta):
            if delta >= 1 { return p }
            var total = 0.0, k = 0
            for s in sorted {
                total += Double(s)
                if total > delta { break }
                k += 1
            }
            return k
        }
    }

    /// True for the rules whose ordering is random rather than by importance.
    public var isRandom: Bool { if case .randomK = self { return true } else { return false } }

    /// The same rule with another parameter (for sweeps; k is rounded).
    public func with(parameter x: Double) -> SelectionRule {
        switch self {
        case .topK: return .topK(Int(x.rounded()))
        case .randomK: return .randomK(Int(x.rounded()))
        case .threshold: return .threshold(x)
        case .sum: return .sum(x)
        }
    }

    /// Parses `topk:K`, `threshold:T`, `sum:D`, `random:K`.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":").map(String.init)
        guard parts.count == 2, let x = Double(parts[1]) else { return nil }
        switch parts[0] {
        case "topk": guard x >= 0, x == x.rounded() else { return nil }; self = .topK(Int(x))
        case "random": guard x >= 0, x == x.rounded() else { return nil }; self = .randomK(Int(x))
        case "threshold": self = .threshold(x)
        case "sum": self = .sum(x)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .topK(let k): return "topk:\(k)"
        case .randomK(let k): return "random:\(k)"
        case .threshold(let t): return "threshold:\(t)"
        case .sum(let d): return "sum:\(d)"
        }
    }
}
