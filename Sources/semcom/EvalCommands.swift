import ArgumentParser
import Attention
import Collaborative
import Entropy
import Foundation
import Repl
import Safety
import Tensors
import Wire

/// What the edge does with each image (Algorithm 1): over a cache (`eval`,
/// `sweep`, ...) and live (`edge`, `link-load`).
struct OperatingPointOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Importance measure: \(ImportanceMeasure.syntax)."))
    var measure: String = "mean"

    @Option(help: ArgumentHelp("Selection rule: \(SelectionRule.syntax)."))
    var rule: String = "sum:0.97"

    @Option(help: ArgumentHelp("Gate: \(Gate.syntax)."))
    var gate: String = "min:0.8"

    @Option(help: "Seed of the random ordering (random:K).")
    var seed: UInt64 = 0

    @Option(help: "Temperature applied to the edge logits before the gate's softmax.")
    var temperature: Double = 1

    /// The measure, rule and gate; a bad one (or a bad temperature) is a usage error naming the option.
    func parsed() throws -> (ImportanceMeasure, SelectionRule, Gate) {
        let r: SelectionRule, g: Gate
        do { r = try SelectionRule.parse(rule) } catch { throw ValidationError("--\(error)") }
        do { g = try Gate.parse(gate) } catch { throw ValidationError("--\(error)") }
        do { try Gate.check(temperature: temperature) } catch { throw ValidationError("--\(error)") }
        return (try usage { try Limits.measure(measure, option: "--measure") }, r, g)
    }
}

/// Options naming an operating point of Algorithm 1 over a cache.
struct SettingOptions: ParsableArguments {
    @Option(help: "Cache file (from `semcom cache build`).")
    var cache: String

    @Option(help: "Edge run name.")
    var edge: String

    @Option(help: "Server run name.")
    var server: String

    @Option(help: "Run whose importance orders the patches (the semantic encoder); default the edge.")
    var encoder: String?

    @OptionGroup var point: OperatingPointOptions

    @Option(help: "Uplink rate for the latency model, Mbit/s.")
    var uplink: Double = 8

    @Option(help: ArgumentHelp("Count a sent image's bytes as this codec's wire frame (docs/wire.md): raw or jpeg:Q (jpeg:Q needs `cache build --codec jpeg:Q`). Default: the paper's count, 3 bytes a pixel of each kept patch and a P-bit mask."))
    var codec: String?

    @Option(help: "Threads for computing missing server answers.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "When a run is not built to the end, evaluate the rows built so far (the output says so) instead of refusing.")
    var partial = false

    @Option(help: "Seconds between checkpoints while computing server answers (default: adaptive, about 2 % of the time).")
    var checkpointEvery: Double?

    /// Every option on its own (`SelectionRule.parse`, `Gate.parse`,
    /// `Limits`); what depends on the cache is checked when it is opened.
    func validate() throws {
        if let c = checkpointEvery { try usage { try Limits.check(checkpointEvery: c) } }
        _ = try setting()
        try usage { try Limits.check(uplink: uplink, option: "--uplink") }
        try usage { try Limits.check(threads: threads) }
    }

    /// The operating point; a bad rule, gate or temperature is a usage error naming the option.
    func setting() throws -> Setting {
        let (m, r, g) = try point.parsed()
        var s = Setting(edge: edge, server: server, encoder: encoder, measure: m, rule: r, gate: g)
        s.seed = point.seed
        s.temperature = point.temperature
        if let codec {
            guard let c = Codec(parsing: codec) else { throw ValidationError("--codec '\(codec)': expected \(Codec.syntax)") }
            s.codec = c
        }
        return s
    }

    /// The setting checked against the cache's runs, heads and patches (and
    /// the swept ks), before any work: a usage error naming the option.
    func check(_ setting: Setting, in cache: Cache, ruleParameters: [Double]? = nil) throws {
        do { try Limits.check(setting, in: cache, ruleParameters: ruleParameters) } catch { throw ValidationError("--\(error)") }
    }

    /// An evaluator over the cache (read-only; missing server answers are stored through a `CacheWriter`).
    func evaluator(checking setting: Setting, ruleParameters: [Double]? = nil) throws -> Evaluator {
        let c = try Cache(path: cache)
        try check(setting, in: c, ruleParameters: ruleParameters)
        let e = Evaluator(cache: c)
        e.threads = threads
        e.latency.uplinkMbps = uplink
        e.allowPartial = partial
        e.checkpointInterval = checkpointEvery
        e.progress = ProgressMeter(label: "server").callback
        return e
    }
}

/// `semcom eval`: one operating point.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Collaborative accuracy, communication and compute at one operating point.")

    @OptionGroup var options: SettingOptions

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        let r = try interruptible("stopping after the server answers in hand (they are kept)") {
            let setting = try options.setting()
            return try options.evaluator(checking: setting).evaluate(setting)
        }
        if json {
            // The CSV's names and numbers (NaN as null; partial as a boolean).
            var object: [String: Any] = [:]
            for (name, value) in r.namedValues { object[name] = value.isNaN ? NSNull() : value }
            object["partial"] = r.partial
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        let pct = { (x: Double) in String(format: "%.2f %%", 100 * x) }
        print("images                \(r.images) (\(r.labelled) labelled)")
        if let note = r.coverage { print("                       (\(note))") }
        print("collaborative accuracy \(pct(r.accuracy))")
        print("edge-only accuracy     \(pct(r.edgeAccuracy))")
        print("server-only accuracy   \(pct(r.serverAccuracy))")
        print("sent to the server     \(pct(r.sentFraction))")
        print(String(format: "patches per sent image %.2f", r.patchesPerSent))
        print(String(format: "communication cost     %.4f (1 = every patch of every image)", r.commCost))
        print(String(format: "server GFLOPs / image  %.3f", r.serverGFLOPs))
        print("confident (on the edge) \(r.confidentImages) images")
        print(String(format: "sent images: mean smallest kept score %.6f, mean kept score sum %.4f", r.meanMinAttention, r.meanAttentionSum))
        print("top-5 accuracy         collaborative \(pct(r.accuracyTop5)), edge \(pct(r.edgeAccuracyTop5)), server \(pct(r.serverAccuracyTop5))")
        print(String(format: "latency / image        %.2f ms (edge %.2f, uplink %.2f at %g Mbit/s, server %.2f)",
                     r.latencyMs, r.edgeMs, r.uplinkMs, options.uplink, r.serverMs))
    }
}

/// The grid of `sweep` and `plan`: rule parameters x gate thresholds.
struct GridOptions: ParsableArguments {
    @Option(help: "Rule parameters as a:b:step or a comma list (default: the rule's own); finite, in the rule's range, at most 10^6 values.")
    var ruleRange: String?

    @Option(help: "Gate thresholds as a:b:step or a comma list (default: the gate's own); finite, in the gate's range, at most 10^6 values (and 10^6 grid points).")
    var gateRange: String?

    /// The rule parameters and gate thresholds (the setting's own where not
    /// given), each in the rule's or the gate's range, at most 10^6 points:
    /// a usage error naming the option.
    func values(_ setting: Setting) throws -> (rules: [Double], gates: [Double]) {
        let rules = try usage { try ruleRange.map { try Limits.ruleParameters($0, setting.rule, option: "--rule-range") } ?? [setting.rule.parameter] }
        let gates = try usage { try gateRange.map { try Limits.gateThresholds($0, setting.gate, option: "--gate-range") } ?? [setting.gate.thresholdValue] }
        try usage { try Limits.check(grid: rules.count, gates: gates.count, option: "--rule-range x --gate-range") }
        return (rules, gates)
    }
}

/// `semcom sweep`: a grid over the rule parameter and the gate threshold.
struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a grid of rule parameters x gate thresholds; CSV with a Pareto flag (accuracy vs communication).")

    @OptionGroup var options: SettingOptions

    @OptionGroup var grid: GridOptions

    @Option(help: "CSV file to write.")
    var out: String

    func validate() throws { _ = try grid.values(try options.setting()) }

    func run() throws {
        try checkOutput(out, kind: .text, inputs: [options.cache])
        let setting = try options.setting()
        let (rules, gates) = try grid.values(setting)
        let points = try interruptible("stopping after the server answers in hand (they are kept)") {
            try options.evaluator(checking: setting, ruleParameters: grid.ruleRange == nil ? nil : rules)
                .sweepPoints(setting, ruleParameters: rules, gateThresholds: gates)
        }
        let table = evaluationTable(points, pareto: true)
        try AtomicWrite.write(table.csv, to: out)
        print("wrote \(out): \(points.count) points, \(table.numbers("pareto")!.filter { $0 == 1 }.count) on the Pareto front")
        if let note = points.first?.evaluation.coverage { print("(\(note))") }
    }
}

/// `semcom table`: the paper's Tables II and III from a cache.
struct Table: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Table II (patches: attention-sum delta -> patches sent, no gate) or Table III (transmit: min-entropy eta -> fraction sent).")

    @Argument(help: "patches or transmit.")
    var which: String

    @OptionGroup var options: SettingOptions

    @Option(help: "The deltas in [0, 1] (patches) or etas >= 0 (transmit): a:b:step or a comma list, at most 10^6; default the paper's.")
    var values: String?

    @Option(help: "Also write the table as CSV here.")
    var out: String?

    /// `which`, and `--values` as deltas in [0, 1] (patches) or etas >= 0 (transmit).
    func validate() throws {
        try usage { _ = try values.map { try paperTableValues(which, $0, option: "--values") } ?? paperTableValues(which, "0", option: "--values") }
    }

    func run() throws {
        if let out { try checkOutput(out, kind: .text, inputs: [options.cache]) }
        let table = try interruptible("stopping after the server answers in hand (they are kept)") {
            let setting = try options.setting()
            return try paperTable(options.evaluator(checking: setting), setting, which,
                                  try values.map { try paperTableValues(which, $0, option: "--values") })
        }
        print(table.text)
        if let out { try AtomicWrite.write(table.csv, to: out) }
    }
}
