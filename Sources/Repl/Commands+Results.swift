import Attention
import Collaborative
import Entropy
import Figures
import Foundation
import HDF5IO
import ViT
import Imaging

/// The text and tables behind the REPL's result commands.

func describe(_ s: Session) throws -> String {
    let (cache, _) = try s.requireCache()
    let labelled = cache.images.labels.filter { $0 >= 0 }.count
    let unreadable = cache.status.filter { $0 == .unreadable }.count
    var lines = ["\(cache.path): \(cache.images.count) images (\(labelled) labelled\(unreadable > 0 ? ", \(unreadable) unreadable, left out of every evaluation" : ""))"]
    var runs = ResultTable(columns: ["run", "arch", "classes", "D", "depth", "heads", "input", "completed"])
    for name in try cache.runNames() {
        let r = try cache.run(name)
        let input = r.lowResolution.map { "\($0) px" } ?? r.jpegQuality.map { "jpeg:\($0)" } ?? "full"
        runs.rows.append([.text(name), .text(r.architecture), "\(r.numClasses)", "\(r.embedDim)", "\(r.depth)", "\(r.numHeads)", .text(input), "\(r.completed)/\(cache.images.count)"])
    }
    lines.append(runs.text)
    let memo = try MemoTable.keys(in: cache)
    if memo.isEmpty {
        lines.append("memo: empty")
    } else {
        var t = ResultTable(columns: ["memo (server / ordering)", "filled"])
        for key in memo {
            let v = try MemoTable.stored(key, in: cache)
            t.rows.append([.text(String(key.dropFirst(6))), .text(String(format: "%.1f %%", 100 * Double(v.filter { $0 >= 0 }.count) / Double(max(1, v.count))))])
        }
        lines.append(t.text)
    }
    return lines.joined(separator: "\n")
}

/// One row per (setting, evaluation), optionally with the Pareto flag: the
/// one column set of every evaluation the REPL shows and the CLI writes
/// (`eval`, `sweep`, `sweep --out`, `export`): the setting, then
/// `Evaluation.namedValues`. Printed: the rule, the gate and the rates and
/// costs; the rest is CSV-only (`detailColumns`).
public func evaluationTable(_ points: [(Setting, Evaluation)], pareto: Bool = false) -> ResultTable {
    let names = Evaluation.valueNames
    var t = ResultTable(columns: ["rule", "rule_param", "gate", "gate_threshold"] + names + (pareto ? ["pareto"] : []))
    t.detailColumns = ["rule_param", "gate_threshold", "edge_ms", "uplink_ms", "server_ms", "images", "labelled",
                       "total_images", "unreadable_images", "partial", "confident_images", "mean_min_attention",
                       "mean_attention_sum", "accuracy_top5", "edge_accuracy_top5", "server_accuracy_top5"]
    let front = paretoFront(cost: points.map(\.1.commCost), accuracy: points.map(\.1.accuracy))
    for (n, (setting, r)) in points.enumerated() {
        t.rows.append(["\(setting.rule)", .number(setting.rule.parameter), "\(setting.gate)", .number(setting.gate.thresholdValue)]
                      + r.namedValues.map { Cell.number($0.value) } + (pareto ? [.number(front[n] ? 1 : 0)] : []))
    }
    t.notes = Array(Set(points.compactMap(\.1.coverage))).sorted()
    return t
}

/// Every low-resolution run of the cache evaluated as the server (rules do not
/// apply: it receives the whole image at R x R), one row each, by resolution.
func lowResolutionTable(_ s: Session) throws -> ResultTable {
    try baselineTable(s, .lowResolution)
}

/// Every whole-image JPEG run of the cache (`@jpeg:Q`) evaluated as the
/// server, one row each, by quality.
func jpegBaselineTable(_ s: Session) throws -> ResultTable {
    try baselineTable(s, .jpegBaseline)
}

/// The runs of a baseline role as the server: their resolution or JPEG quality, then the evaluation's columns.
private func baselineTable(_ s: Session, _ role: RunRole) throws -> ResultTable {
    let (_, e) = try s.requireCache()
    let setting = try s.validSetting()
    let baselines = role == .lowResolution ? try e.lowResolutionBaselines(setting) : try e.jpegBaselines(setting)
    var t = evaluationTable(baselines.map { (setting, $0.evaluation) })
    t.columns = ["run", role == .lowResolution ? "resolution" : "jpeg_quality"] + t.columns
    for (i, b) in baselines.enumerated() {  // the rule column: no patch selection
        t.rows[i][0] = "whole image"
        t.rows[i] = [.text(b.run.name), .number(Double(b.run.lowResolution ?? b.run.jpegQuality!))] + t.rows[i]
    }
    return t
}

/// Table II (`patches`: `values` are attention-sum deltas, default the
/// paper's) or Table III (`transmit`: min-entropy etas) at `setting`, for the
/// REPL's and the CLI's `table`.
public func paperTable(_ e: Evaluator, _ setting: Setting, _ which: String, _ values: [Double]?) throws -> ResultTable {
    switch which {
    case "patches":
        let deltas = values ?? [0.87, 0.9, 0.92, 0.93, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99]
        let r = try e.patchTable(setting, deltas: deltas)
        var t = ResultTable(columns: ["delta", "patches_per_image", "comm_cost", "accuracy"],
                            rows: zip(deltas, r).map { [$0, $1.patchesPerSent, $1.commCost, $1.accuracy].map(ResultTable.cell) })
        t.notes = r.first?.coverage.map { [$0] } ?? []
        return t
    case "transmit":
        let etas = values ?? [1, 0.8, 0.6, 0.4, 0.3, 0.2, 0.1]
        let r = try e.transmitTable(setting, etas: etas)
        var t = ResultTable(columns: ["eta", "sent_fraction", "comm_cost", "accuracy"],
                            rows: zip(etas, r).map { [$0, $1.sentFraction, $1.commCost, $1.accuracy].map(ResultTable.cell) })
        t.notes = r.first?.coverage.map { [$0] } ?? []
        return t
    default:
        throw ReplError("table '\(which)': expected patches or transmit")
    }
}

/// Table I: parameters (from the shapes), float32 memory, eq. 9 GFLOPs, accuracy in this cache.
public func modelsTable(_ summaries: [ModelSummary]) -> ResultTable {
    var t = ResultTable(columns: ["run", "arch", "params_M", "memory_MB", "gflops", "accuracy"])
    for m in summaries {
        let rows = m.rows
        if rows.isPartial || rows.unreadable > 0 {
            t.notes.append("\(m.run.name): accuracy over \(thousands(rows.rows.count)) of \(thousands(rows.total)) images\(rows.isPartial ? " (partial)" : "")\(rows.unreadable > 0 ? ", \(rows.unreadable) unreadable left out" : "")")
        }
        t.rows.append([.text(m.run.name), .text(m.architecture)] + [Double(m.parameters) / 1e6, m.memoryMiB, m.gflops, m.accuracy].map(ResultTable.cell))
    }
    t.notes.append("params_M: learned parameters / 10^6 (timm's tensors); memory_MB: their float32 size in MiB; gflops: multiply-adds / 10^9 of one full image (patch embedding, encoder by eq. 9 on every token, head), as the paper's Table I; accuracy: top-1 over the run's labelled, readable rows")
    return t
}

func latencyTable(_ s: Session, _ rates: [Double]) throws -> ResultTable {
    let (_, e) = try s.requireCache()
    let points = try e.latencyBreakdown(try s.validSetting(), uplinks: rates)
    var t = ResultTable(columns: ["uplink_mbps", "latency_ms", "edge_ms", "uplink_ms", "server_ms", "full_image_ms"])
    for p in points {
        let r = p.evaluation
        t.rows.append([p.uplinkMbps, r.latencyMs, r.edgeMs, r.uplinkMs, r.serverMs, p.fullImageMs].map(ResultTable.cell))
    }
    t.notes = points.last?.evaluation.coverage.map { [$0] } ?? []
    return t
}

func image(_ s: Session, _ a: [String]) throws -> String {
    let (cache, e) = try s.requireCache()
    guard (1...2).contains(a.count), let i = Int(a[0]), (0..<cache.images.count).contains(i) else {
        throw ReplError("usage: image I [FILE.png] with 0 <= I < \(cache.images.count)")
    }
    let setting = try s.validSetting()
    let path = try a.count == 2 ? s.outputPath(a[1], kind: .png) : nil  // refused before any work
    if cache.status[i] == .unreadable {
        throw ReplError("image \(i) could not be read when the cache was built: \(try cache.unreadable().first { $0.row == i }?.reason ?? "")")
    }
    for run in Set([setting.edge, setting.server, setting.encoder]) where try cache.run(run).completed <= i {
        throw ReplError("image \(i) is not built yet in run '\(run)' (\(try cache.run(run).completed) of \(cache.images.count) images)")
    }
    let names = ClassNames.forClassCount(try cache.run(setting.edge).numClasses)
    var lines = ["\(i): \(cache.images.paths[i]) (label \(cache.images.labels[i]))"]
    for run in [setting.edge, setting.server] {
        let c = try cache.run(run).numClasses
        let p = Uncertainty.probabilities(try cache.logits(run)[(i * c)..<((i + 1) * c)])
        let top = p.indices.sorted { p[$0] > p[$1] }.prefix(5).map { String(format: "%@ %.3f", names.names[$0], p[$0]) }
        lines.append("\(run): " + top.joined(separator: ", "))
        if run == setting.edge {
            lines.append(String(format: "  min-entropy %.3f bits, Shannon %.3f bits, margin %.3f; %@", Uncertainty.minEntropy(p),
                                Uncertainty.shannon(p), Uncertainty.margin(p), setting.gate.sends(p) ? "sent" : "kept on the edge"))
        }
    }
    let p = try cache.run(setting.server).numPatches
    let k = try e.keptPatches(setting.rule, ordering: setting.ordering, patches: p)[i]
    lines.append("rule \(setting.rule): \(k) of \(p) patches")
    let onKept = try e.serverTopFive(setting, image: i)
    lines.append("\(setting.server) on the kept patches: " + onKept.map { names.names[$0] }.joined(separator: ", "))
    if let path {
        try AttentionOverlay.write(cache: cache, image: i, run: setting.encoder, measure: setting.measure,
                                   kept: try e.keptOrder(setting, image: i, patches: p).prefix(k).map { $0 },
                                   caption: try overlayCaption(cache, setting, image: i, kept: k, of: p, serverClass: onKept[0]), to: path)
        lines.append("wrote \(path)")
    }
    return lines.joined(separator: "\n")
}

/// The caption of image `i`'s overlay (Figs. 4-6): index and true class; the
/// edge's prediction, its min-entropy and the gate's decision; the patches
/// kept (`k` of `patches`, by the rule); the server's prediction on them
/// (`serverClass`) and on the full image; what the heat map shows.
func overlayCaption(_ cache: Cache, _ setting: Setting, image i: Int, kept k: Int, of patches: Int, serverClass: Int) throws -> [String] {
    let names = ClassNames.forClassCount(try cache.run(setting.edge).numClasses)
    /// A class's first name, at most 24 characters (ImageNet's names list synonyms).
    func short(_ c: Int) -> String {
        let name = String(names.names[c].split(separator: ",").first ?? "")
        return name.count > 24 ? name.prefix(23) + "." : name
    }
    func logits(_ run: String) throws -> ArraySlice<Float> {
        let c = try cache.run(run).numClasses
        return try cache.logits(run)[(i * c)..<((i + 1) * c)]
    }
    let label = cache.images.labels[i]
    let edge = try logits(setting.edge), server = try logits(setting.server)
    let p = Uncertainty.probabilities(edge)
    return [
        "image \(i), true class: \(label >= 0 ? short(Int(label)) : "none")",
        String(format: "edge: %@, min-entropy %.2f bits", short(topK(edge, 1)[0].index), Uncertainty.minEntropy(p)),
        setting.gate.sends(p) ? "sent to the server (gate \(setting.gate))" : "kept on the edge (gate \(setting.gate))",
        "patches kept: \(k) of \(patches) (rule \(setting.rule))",
        "server: \(short(serverClass)) on kept, \(short(topK(server, 1)[0].index)) on all",
        "heat: \(setting.measure) scores of \(setting.encoder)",
    ]
}

extension AttentionOverlay {
    /// Renders image `i` of a cache with `run`'s `measure` scores, the kept patches and `caption`, as PNG.
    static func write(cache: Cache, image i: Int, run: String, measure: ImportanceMeasure, kept: [Int], caption: [String], to path: String) throws {
        // The image as the cache saw it: a file changed since is an error, not a misleading overlay.
        let crop = try ImageFiles.load(cache.images.paths[i], preprocessing: try cache.preprocessing, expected: try cache.pins()[i]).0
        let p = try cache.run(run).numPatches
        let scores = Array(try cache.importance(run, measure: measure)[(i * p)..<((i + 1) * p)])
        try render(crop: crop, scores: scores, kept: Set(kept), caption: caption).writePNG(to: path)
    }
}

/// The encoder run's score histogram for each measure (`Cache.scoreHistogram`:
/// the authors' 100 bins over [0, 1.96 / P], fractions of all scores).
func scoreHistograms(_ s: Session, _ measures: [String]) throws -> [ScoreHistogram] {
    let (cache, _) = try s.requireCache()
    let run = s.setting.encoder
    return try measures.map { try cache.scoreHistogram(run, measure: try Limits.measure($0, run: run, in: cache)) }
}

/// `histogram`: per bin, its edges and each measure's fraction of all the
/// encoder's patch scores; a note says what fell outside the range.
func histogramTable(_ s: Session, _ measures: [String]) throws -> ResultTable {
    let hists = try scoreHistograms(s, measures)
    var t = ResultTable(columns: ["bin_start", "bin_end"] + measures.map { "fraction_\($0)" })
    guard let edges = hists.first?.edges else { return t }
    for b in 0..<(edges.count - 1) {
        t.rows.append(([edges[b], edges[b + 1]] + hists.map { $0.fractions[b] }).map(Cell.number))
    }
    let outside = zip(measures, hists).map { "\($0) \(String(format: "%.2f", 100 * $1.outsideRange)) %" }.joined(separator: ", ")
    t.notes = ["fractions of all \(thousands(hists[0].count)) patch scores of run '\(s.setting.encoder)' on \(edges.count - 1) bins over [0, \(Cell.number(edges.last!))] (the authors' binning: 1.96 / P); above the range, in no bin: \(outside)"]
    return t
}
