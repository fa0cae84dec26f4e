import Collaborative
import Foundation

/// Where a live run and a cache disagree on one image.
public struct LiveMismatch: Sendable, CustomStringConvertible {
    public var index: Int
    public var path: String
    public var what: String
    public var description: String { "image \(index) (\(path)): \(what)" }
}

extension EdgeRun {
    /// Checks a live run image by image against the cache's answers for the
    /// same operating point: the edge's class, the gate's decision, k and the
    /// final answer (the server's first class on the kept patches, from the
    /// memo; missing entries are computed and stored). Row i of the cache must
    /// be image i of the run (the same file). Returns every disagreement.
    public static func mismatches(_ results: [EdgeImageResult], cache evaluator: Evaluator, setting: Setting) throws -> [LiveMismatch] {
        let cache = evaluator.cache
        let p = try cache.run(setting.server).numPatches
        let edgeClasses = try evaluator.predictions(setting.edge)
        let scores = try evaluator.gateScores(setting.edge, setting.gate, temperature: setting.temperature)
        let ks = try evaluator.keptPatches(setting.rule, ordering: setting.ordering, patches: p)
        func same(_ a: String, _ b: String) -> Bool {
            URL(fileURLWithPath: a).standardizedFileURL.path == URL(fileURLWithPath: b).standardizedFileURL.path
        }
        var out: [LiveMismatch] = []
        for r in results {
            let i = r.index
            func differ(_ what: String) { out.append(LiveMismatch(index: i, path: r.path, what: what)) }
            guard i < cache.images.count, same(cache.images.paths[i], r.path) else {
                differ("not row \(i) of \(cache.path)")
                continue
            }
            if Int(edgeClasses[i]) != r.decision.edgeClass { differ("edge class \(r.decision.edgeClass), the cache's \(edgeClasses[i])") }
            let sends = scores.map { $0[i] >= setting.gate.scoreThreshold } ?? true
            if sends != r.decision.sends { differ("sent \(r.decision.sends), the cache's gate says \(sends)") }
            guard sends, r.decision.sends else { continue }
            if ks[i] != r.decision.kept.count { differ("k \(r.decision.kept.count), the cache's \(ks[i])") }
            let expected = try evaluator.serverTopFive(setting, image: i).first
            if expected != r.serverClasses.first {
                differ("server class \(r.serverClasses.first.map(String.init) ?? "none"), the cache's \(expected.map(String.init) ?? "none")")
            }
        }
        return out
    }
}
