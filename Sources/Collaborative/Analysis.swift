import Attention
import Entropy
import ViT

// The paper's tables and baselines as typed values. The REPL, the CLI and the
// experiment scripts format them; nothing here returns text.

/// Table I: one run's size, cost and accuracy in the cache.
public struct ModelSummary: Equatable, Sendable {
    public let run: RunInfo
    /// Learned parameters (`ViTConfig.parameterCount`).
    public var parameters: Int { run.config.parameterCount }
    /// The parameters' float32 size in MiB (2^20 bytes).
    public var memoryMiB: Double { Double(parameters) * 4 / 1_048_576 }
    /// GFLOPs (multiply-adds) of one full image, as Table I counts them:
    /// patch embedding, encoder (eq. 9) and head (`ViTConfig.imageFLOPs`).
    public var gflops: Double { run.config.imageFLOPs / 1e9 }
    /// The architecture (`RunInfo.architecture`).
    public var architecture: String { run.architecture }
    /// Top-1 accuracy over the labelled rows of `rows` (NaN when none is labelled).
    public let accuracy: Double
    /// The rows the accuracy is over.
    public let rows: RowSelection
}

/// One uplink rate of the latency breakdown (Figs. 15-16).
public struct LatencyPoint: Equatable, Sendable {
    public let uplinkMbps: Double
    /// The operating point's mean latency per image and its parts, in ms.
    public let evaluation: Evaluation
    /// The ordinary system: the whole S x S x 3 image sent at this rate and
    /// classified by the server on every token, in ms per image.
    public let fullImageMs: Double
}

extension RunInfo {
    /// The architecture: the name it was built as, else the registry's name
    /// for its configuration, else its shape (`ViTConfig.shapeDescription`).
    public var architecture: String {
        arch != "auto" ? arch : ModelRegistry.name(of: config) ?? config.shapeDescription
    }
}

extension Evaluator {
    /// Table I: every run of the cache, in name order, over its usable rows.
    public func modelSummaries() throws -> [ModelSummary] {
        let labels = cache.images.labels
        return try cache.runNames().map { name in
            let selection = try cache.usableRows(runs: [name], partial: allowPartial)
            let labelled = selection.rows.filter { labels[$0] >= 0 }
            let predictions = try predictions(name)
            let correct = labelled.filter { predictions[$0] == labels[$0] }.count
            return ModelSummary(run: try cache.run(name), accuracy: Double(correct) / Double(labelled.count), rows: selection)
        }
    }

    /// Table II: the attention-sum rule at each delta, every image sent (no gate).
    public func patchTable(_ setting: Setting, deltas: [Double]) throws -> [Evaluation] {
        var s = setting
        s.rule = .sum(deltas.first ?? 0)
        s.gate = .none
        return try sweep(s, ruleParameters: deltas, gateThresholds: nil)
    }

    /// Table III: the min-entropy gate at each threshold eta, the setting's rule.
    public func transmitTable(_ setting: Setting, etas: [Double]) throws -> [Evaluation] {
        var s = setting
        s.gate = .minEntropy(etas.first ?? 0)
        return try sweep(s, ruleParameters: nil, gateThresholds: etas)
    }

    /// The latency model at each uplink rate (Mbit/s), beside the whole-image baseline.
    public func latencyBreakdown(_ setting: Setting, uplinks: [Double]) throws -> [LatencyPoint] {
        let side = try cache.run(setting.server).imageSize
        return try uplinks.map { rate in
            var model = latency
            model.uplinkMbps = rate
            let full = Double(side * side * 3) * 8 / (rate * 1e6) * 1e3 + model.serverMs
            return LatencyPoint(uplinkMbps: rate, evaluation: try evaluate(setting, latency: model), fullImageMs: full)
        }
    }

    /// The low-resolution baseline: each low-resolution run of the cache as the
    /// server (it receives the whole image at R x R, so rules do not apply),
    /// by increasing resolution.
    public func lowResolutionBaselines(_ setting: Setting) throws -> [(run: RunInfo, evaluation: Evaluation)] {
        try baselines(.lowResolution, setting)
    }

    /// The whole-image JPEG baseline: each @jpeg:Q run of the cache as the
    /// server (it receives the whole crop as one JPEG), by increasing quality;
    /// its bytes are the JPEG frames' (`full-jpeg:Q`).
    public func jpegBaselines(_ setting: Setting) throws -> [(run: RunInfo, evaluation: Evaluation)] {
        try baselines(.jpegBaseline, setting)
    }

    /// The runs of a baseline `role` as the server, by their resolution or quality.
    func baselines(_ role: RunRole, _ setting: Setting) throws -> [(run: RunInfo, evaluation: Evaluation)] {
        let runs = try cache.runNames().map { try cache.run($0) }.filter { $0.baseline == role }
            .sorted { ($0.lowResolution ?? $0.jpegQuality ?? 0) < ($1.lowResolution ?? $1.jpegQuality ?? 0) }
        return try runs.map { r in
            var s = setting
            s.server = r.name
            return (r, try evaluate(s))
        }
    }
}

/// Figs. 7 and 11c: how patch scores are distributed, binned as the authors'
/// code bins them: the fraction of all N x P scores in each of `bins` equal
/// bins over [0, upper] (a score equal to `upper` falls in the last bin), and
/// scores outside [0, upper] in no bin. For P = 196 the authors' range is [0, 0.01],
/// i.e. 1.96 / P, which is the default for every P.
public struct ScoreHistogram: Equatable, Sendable {
    /// bins + 1 bin edges, 0 to `upper`, equally spaced.
    public let edges: [Double]
    /// Per bin: its scores' count over all scores counted (`count`), in [0, 1].
    public let fractions: [Double]
    /// The fraction of all scores outside [0, upper] (above it: attention
    /// scores are never negative), drawn in no bin.
    public let outsideRange: Double
    /// The scores counted: N x P.
    public let count: Int

    /// The authors' range for P patches: [0, 1.96 / P].
    public static func defaultUpper(patches p: Int) -> Double { 1.96 / Double(p) }

    /// The histogram of `scores` on `bins` bins over [0, upper].
    public init(scores: [Float], upper: Double, bins: Int = 100) {
        precondition(bins >= 1 && upper > 0 && upper.isFinite, "a histogram needs bins >= 1 over [0, upper > 0]")
        let width = upper / Double(bins)
        var counts = [Int](repeating: 0, count: bins), outside = 0
        for s in scores.map(Double.init) {
            guard (0...upper).contains(s) else { outside += 1; continue }
            counts[min(bins - 1, Int(s / width))] += 1
        }
        let n = Double(max(1, scores.count))
        edges = (0...bins).map { Double($0) * width }
        fractions = counts.map { Double($0) / n }
        outsideRange = Double(outside) / n
        count = scores.count
    }
}

extension Cache {
    /// The score histogram of `run`'s `measure` over its usable rows (built,
    /// readable images), on `bins` bins over [0, upper] (default: the
    /// authors' 1.96 / P).
    public func scoreHistogram(_ run: String, measure: ImportanceMeasure, bins: Int = 100, upper: Double? = nil) throws -> ScoreHistogram {
        let p = try self.run(run).numPatches
        let scores = try importance(run, measure: measure)
        let rows = try usableRows(runs: [run], partial: true).rows
        let kept = rows.flatMap { scores[($0 * p)..<(($0 + 1) * p)] }
        return ScoreHistogram(scores: kept, upper: upper ?? ScoreHistogram.defaultUpper(patches: p), bins: bins)
    }
}
