import Attention
import Collaborative
import Entropy
import Figures
import Foundation
import ViT
import Wire

/// One REPL command: its name, usage, help text and action.
struct Command: Sendable {
    let name: String
    let usage: String
    let help: String
    let action: @Sendable (Session, [String]) throws -> String

    func run(_ s: Session, _ args: [String]) throws -> String { try action(s, args) }

    static func named(_ name: String) -> Command? { all.first { $0.name == name } }

    /// The known command closest to a misspelt one (edit distance <= 2).
    static func closest(to word: String) -> String? { Repl.closest(to: word, among: all.map(\.name)) }

    static let all: [Command] = [
        Command(name: "open", usage: "open CACHE.h5", help: "Open a cache (from `semcom cache build`); picks the smallest run as edge, the largest as server.") { s, a in
            guard a.count == 1 else { throw ReplError("usage: open CACHE.h5") }
            try s.open(a[0])
            return try describe(s)
        },
        Command(name: "describe", usage: "describe", help: "Images, runs and memo fill of the open cache.") { s, _ in try describe(s) },
        Command(name: "save", usage: "save NAME", help: "Keep the last result under NAME, for plot (e.g. plot sweep NAME FILE.svg, plot lines X Y NAME... FILE.svg).") { s, a in
            guard a.count == 1 else { throw ReplError("usage: save NAME") }
            guard let t = s.last else { throw ReplError("nothing to save yet") }
            s.saved[a[0]] = t
            return ""
        },
        Command(name: "require", usage: "require RUN...", help: "Fail unless the cache has these runs (experiment scripts start with it).") { s, a in
            let (cache, _) = try s.requireCache()
            let runs = try cache.runNames()
            let missing = a.filter { !runs.contains($0) }
            guard missing.isEmpty else {
                // The variables that named the missing runs: --set one of them to a run the cache has.
                let names = missing.flatMap { run in s.variables.filter { $0.value == run }.map(\.key) }.sorted()
                let fix = names.isEmpty ? "" : "pass \(names.map { "--set \($0)=RUN" }.joined(separator: " ")) with RUN one of its runs, or "
                throw ReplError("this needs run(s) \(missing.joined(separator: ", ")); \(cache.path) has \(runs.joined(separator: ", ")) (\(fix)build them with semcom cache build --model NAME=ARCH:WEIGHTS)", kind: .notFound)
            }
            return ""
        },
        Command(name: "default", usage: "default NAME VALUE", help: "Define variable NAME unless it is already set (e.g. by --set).") { s, a in
            guard a.count >= 2 else { throw ReplError("usage: default NAME VALUE") }
            if s.variables[a[0]] == nil { s.variables[a[0]] = a[1...].joined(separator: " ") }
            return ""
        },
        Command(name: "set", usage: "set edge|server|encoder|measure|rule|gate|seed|temperature|uplink|codec|partial|confirm_above|out|title VALUE",
                help: "Change a setting: runs by name; measure \(ImportanceMeasure.syntax); rule \(SelectionRule.syntax); gate \(Gate.syntax); partial on|off (evaluate the rows built so far of incomplete runs); confirm_above N (a sweep of more grid points asks first; default 10^5); title of the next plot.") { s, a in
            if a.first == "title" && a.count >= 2 { s.title = a.dropFirst().joined(separator: " "); return "" }
            guard a.count == 2 else { throw ReplError("usage: set NAME VALUE") }
            try set(s, a[0], a[1])
            return ""
        },
        Command(name: "let", usage: "let NAME = VALUE", help: "Define a variable, used as $NAME.") { s, a in
            guard a.count >= 3, a[1] == "=", a[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { throw ReplError("usage: let NAME = VALUE") }
            s.variables[a[0]] = a[2...].joined(separator: " ")
            return ""
        },
        Command(name: "show", usage: "show settings", help: "Print the current settings.") { s, a in
            guard a == ["settings"] else { throw ReplError("usage: show settings") }
            let t = s.setting
            return ResultTable(columns: ["setting", "value"], rows: [
                ["cache", .text(s.cache?.path ?? "(none)")], ["edge", .text(t.edge)], ["server", .text(t.server)], ["encoder", .text(t.encoder)],
                ["measure", "\(t.measure)"], ["rule", "\(t.rule)"], ["gate", "\(t.gate)"], ["seed", "\(t.seed)"],
                ["temperature", "\(t.temperature)"], ["uplink", "\(s.latency.uplinkMbps) Mbit/s"],
                ["codec", .text(t.codec.map(\.description) ?? "none (the paper's count)")], ["partial", s.partial ? "on" : "off"],
                ["confirm_above", "\(s.confirmAbove)"], ["out", .text(s.outputDirectory)],
            ]).text
        },
        Command(name: "eval", usage: "eval", help: "Algorithm 1 at the current settings.") { s, _ in
            let (_, e) = try s.requireCache()
            let r = try e.evaluate(try s.validSetting())
            return s.remember(evaluationTable([(s.setting, r)]))
        },
        Command(name: "sweep", usage: "sweep rule A:B:STEP [gate A:B:STEP] | sweep gate A:B:STEP",
                help: "Evaluate a grid over the rule parameter and/or the gate threshold (lists x,y,z work too; at most 10^6 points, each value in the rule's or gate's range).") { s, a in
            let (_, e) = try s.requireCache()
            var rules: [Double]?, gates: [Double]?
            var i = 0
            while i < a.count {
                guard i + 1 < a.count else { throw ReplError("usage: sweep rule A:B:STEP [gate A:B:STEP]") }
                switch a[i] {
                case "rule": rules = try Limits.ruleParameters(a[i + 1], s.setting.rule, option: "sweep rule")
                case "gate": gates = try Limits.gateThresholds(a[i + 1], s.setting.gate, option: "sweep gate")
                default: throw ReplError("sweep: expected 'rule' or 'gate', got '\(a[i])'")
                }
                i += 2
            }
            guard rules != nil || gates != nil else { throw ReplError("usage: sweep rule A:B:STEP [gate A:B:STEP]") }
            try Limits.check(grid: rules?.count ?? 1, gates: gates?.count ?? 1)
            try s.approve(points: (rules?.count ?? 1) * (gates?.count ?? 1))
            let base = try s.validSetting(ruleParameters: rules)
            return s.remember(evaluationTable(try e.sweepPoints(base, ruleParameters: rules, gateThresholds: gates), pareto: true))
        },
        Command(name: "lowres", usage: "lowres",
                help: "The low-resolution baseline: every run built at a reduced resolution (cache build --model NAME=ARCH:WEIGHTS@R) as the server, at the current edge and gate.") { s, _ in
            s.remember(try lowResolutionTable(s))
        },
        Command(name: "wholejpeg", usage: "wholejpeg",
                help: "The whole-image JPEG baseline: every run built on whole images coded as JPEG (cache build --model NAME=ARCH:WEIGHTS@jpeg:Q) as the server, at the current edge and gate; bytes_per_image counts its JPEG frames.") { s, _ in
            s.remember(try jpegBaselineTable(s))
        },
        Command(name: "pareto", usage: "pareto", help: "The Pareto-optimal rows (accuracy vs communication) of the last sweep.") { s, _ in
            guard var t = s.last, let flags = t.numbers("pareto") else { throw ReplError("run 'sweep' first") }
            t.rows = t.rows.indices.filter { flags[$0] == 1 }.map { t.rows[$0] }
            return s.remember(t)
        },
        Command(name: "table", usage: "table patches [DELTAS] | table transmit [ETAS]",
                help: "Table II (attention-sum delta -> patches per image, no gate) or Table III (min-entropy eta -> fraction sent).") { s, a in
            guard let which = a.first, a.count <= 2 else { throw ReplError("usage: table patches|transmit [VALUES]") }
            let values = a.count == 2 ? try paperTableValues(which, a[1], option: "table \(which)") : nil
            let (_, e) = try s.requireCache()
            return s.remember(try paperTable(e, try s.validSetting(), which, values))
        },
        Command(name: "histogram", usage: "histogram MEASURE...", help: "Fractions of all the encoder's patch scores on 100 bins over [0, 1.96/P], as the authors bin them (Figs. 7 and 11c; 0.01 for 196 patches).") { s, a in
            guard !a.isEmpty else { throw ReplError("usage: histogram MEASURE...") }
            return s.remember(try histogramTable(s, a))
        },
        Command(name: "models", usage: "models", help: "Table I: parameters, memory, GFLOPs (eq. 9) and accuracy of every run.") { s, _ in
            s.remember(modelsTable(try s.requireCache().1.modelSummaries()))
        },
        Command(name: "latency", usage: "latency RATES", help: "Mean latency per image and its edge/uplink/server parts at uplink rates in Mbit/s (e.g. latency 1,8,20).") { s, a in
            guard a.count == 1 else { throw ReplError("usage: latency 1,8,20") }
            return s.remember(try latencyTable(s, try Limits.rates(a[0])))
        },
        Command(name: "plot", usage: "plot sweep|pareto|latency [NAME|last] FILE.svg | lines X Y[,Y...] TABLE... [@MARKS] FILE.svg | hist [log] MEASURE... FILE.svg",
                help: "SVG of a result named by 'save NAME', or 'last', or without a name the latest of its kind: a sweep's settings and Pareto front (accuracy vs communication cost), a Pareto front, a latency table as stacked bars (edge, uplink, server); saved tables (or last) as lines (column X against each Y; TABLE:points as points, @NAME marks a table's rows); histograms of importance measures (log: log10 fractions). A result of another kind is refused, naming what exists.") { s, a in
            try plot(s, a)
        },
        Command(name: "image", usage: "image I [FILE.png]", help: "One image: top-5 of edge and server, entropy, kept patches; optionally an attention overlay PNG (Figs. 4-6) with a caption band: true class, predictions, min-entropy, sent or kept, patches kept, colour bar.") { s, a in
            try image(s, a)
        },
        Command(name: "export", usage: "export FILE.csv", help: "Write the last result as CSV.") { s, a in
            guard a.count == 1 else { throw ReplError("usage: export FILE.csv") }
            guard let t = s.last else { throw ReplError("nothing to export yet") }
            return "wrote \(try s.write(t.csv, to: a[0], kind: .text))"
        },
        Command(name: "help", usage: "help [COMMAND|TOPIC]",
                help: "List the commands, or describe one; the topics (\(HelpTopic.all.map(\.name).joined(separator: ", "))) explain the method's terms, with examples.") { s, a in
            guard a.count <= 1 else { throw ReplError("usage: help [COMMAND|TOPIC]") }
            return try s.help(a.first)
        },
        Command(name: "quit", usage: "quit", help: "Leave the REPL (also exit, or end of input).") { _, _ in throw QuitSignal() },
        Command(name: "exit", usage: "exit", help: "Leave the REPL.") { _, _ in throw QuitSignal() },
    ]
}

/// Thrown by `quit`; the REPL loop ends on it.
public struct QuitSignal: Error {}

/// Levenshtein distance.
/// The word of `words` closest to a misspelt `word`, if within edit distance 2.
func closest(to word: String, among words: [String]) -> String? {
    let best = words.map { ($0, editDistance($0, word)) }.min { $0.1 < $1.1 }
    return best.flatMap { $0.1 <= 2 ? $0.0 : nil }
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var row = Array(0...b.count)
    for i in 1...max(1, a.count) where !a.isEmpty {
        var previous = row[0]
        row[0] = i
        for j in 1...max(1, b.count) where !b.isEmpty {
            let current = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
            previous = current
        }
    }
    return a.isEmpty ? b.count : row[b.count]
}

/// The most values a range or list may hold (`parseValues`): 10^6.
public let maxValues = 1_000_000

/// Parses `a:b:step` (b included, within rounding; values rounded to 10
/// decimals so that 0.8:0.95:0.05 gives 0.85, not 0.8500000000000001),
/// `x,y,z`, or a single number. Every number is finite, the step > 0, b >= a,
/// and there are at most `maxValues` values: the count is computed, and
/// refused, before anything is allocated.
public func parseValues(_ text: String) throws -> [Double] {
    if text.contains(":") {
        let p = text.split(separator: ":", omittingEmptySubsequences: false).map { Double($0) }
        guard p.count == 3, let a = p[0], let b = p[1], let step = p[2] else {
            throw ReplError("'\(text)': expected a:b:step with b >= a and step > 0")
        }
        guard a.isFinite, b.isFinite, step.isFinite else { throw ReplError("'\(text)': a, b and step must be finite numbers") }
        guard step > 0, b >= a else { throw ReplError("'\(text)': expected a:b:step with b >= a and step > 0") }
        let steps = ((b - a) / step + 1e-9).rounded(.down)
        guard steps.isFinite, steps < Double(maxValues) else {
            throw ReplError("'\(text)': too many values (at most \(maxValues) values in a range)")
        }
        return (0...Int(steps)).map { i in
            let x = a + Double(i) * step, r = (x * 1e10).rounded() / 1e10
            return r.isFinite ? r : x
        }
    }
    let items = text.split(separator: ",", omittingEmptySubsequences: false)
    guard items.count <= maxValues else { throw ReplError("'\(text)': too many values (at most \(maxValues) values in a list)") }
    let v = items.map { Double($0) }
    guard !v.isEmpty, v.allSatisfy({ $0 != nil }) else { throw ReplError("'\(text)': expected numbers x,y,z or a:b:step") }
    let values = v.map { $0! }
    if let bad = values.first(where: { !$0.isFinite }) { throw ReplError("'\(text)': \(bad) is not a finite number") }
    return values
}

/// The names `set` takes (also offered by tab completion).
let settingNames = ["edge", "server", "encoder", "measure", "rule", "gate", "seed", "temperature", "uplink", "codec", "partial", "confirm_above", "out", "title"]

/// Changes one setting; a bad value is refused at once (one line naming it)
/// and the old value kept. With a cache open, run names, `head:I` and the
/// rule's k are checked against it (`Limits`).
func set(_ s: Session, _ name: String, _ value: String) throws {
    switch name {
    case "edge", "server", "encoder":
        if let cache = s.cache { try Limits.check(run: value, role: name, in: cache) }
        var t = s.setting
        switch name { case "edge": t.edge = value; case "server": t.server = value; default: t.encoder = value }
        if let cache = s.cache, let p = Limits.patches(t, in: cache) {
            do { try t.rule.check(patches: p) } catch { throw ReplError("\(name) '\(value)': \(error); change the rule first") }
        }
        s.setting = t
    case "measure":
        s.setting.measure = try Limits.measure(value, run: s.setting.encoder, in: s.cache)
    case "rule":
        let r: SelectionRule
        do { r = try SelectionRule.parse(value) } catch { throw ReplError(wrapping: error) }
        if let cache = s.cache {
            var t = s.setting
            t.rule = r
            if let p = Limits.patches(t, in: cache) { do { try r.check(patches: p) } catch { throw ReplError(wrapping: error) } }
        }
        s.setting.rule = r
    case "gate":
        do { s.setting.gate = try Gate.parse(value) } catch { throw ReplError(wrapping: error) }
    case "seed":
        guard let v = UInt64(value) else { throw ReplError("seed '\(value)': expected a non-negative integer") }
        s.setting.seed = v
    case "temperature":
        guard let v = Double(value) else { throw ReplError("temperature '\(value)': expected a finite number > 0") }
        do { try Gate.check(temperature: v) } catch { throw ReplError(wrapping: error) }
        s.setting.temperature = v
    case "uplink":
        guard let v = Double(value) else { throw ReplError("uplink '\(value)': expected a finite rate > 0 in Mbit/s") }
        try Limits.check(uplink: v)
        s.latency.uplinkMbps = v
    case "codec":
        if value == "none" { s.setting.codec = nil; return }
        let c = Codec(parsing: value)
        if c == nil || c!.isWholeImage {
            throw ReplError("codec '\(value)': expected none (the paper's count), raw or jpeg:Q with Q an integer 1-100")
        }
        if case .jpeg? = c, let cache = s.cache, !(try cache.codecs().contains(c!)) {
            let recorded = try cache.codecs().filter { !$0.isWholeImage }.map(\.description)
            throw ReplError("codec '\(value)': the cache records no sizes for it (recorded: \(recorded.isEmpty ? "none" : recorded.joined(separator: ", "))); add them with semcom cache build --codec \(c!)")
        }
        s.setting.codec = c!
    case "partial":
        guard let on = ["on": true, "off": false][value] else { throw ReplError("partial '\(value)': expected on (evaluate the rows built so far of incomplete runs) or off") }
        s.partial = on
    case "confirm_above":
        guard let v = Int(value), v >= 1 else { throw ReplError("confirm_above '\(value)': expected a number of grid points >= 1") }
        s.confirmAbove = v
    case "out": s.outputDirectory = value
    default:
        let guess = closest(to: name, among: settingNames).map { "; did you mean '\($0)'?" } ?? ""
        throw ReplError("unknown setting '\(name)'\(guess)")
    }
}

/// The values of `table patches` (attention-sum deltas in [0, 1]) or `table
/// transmit` (min-entropy etas >= 0), parsed and checked.
public func paperTableValues(_ which: String, _ text: String, option: String) throws -> [Double] {
    switch which {
    case "patches": return try Limits.ruleParameters(text, .sum(0), option: option)
    case "transmit": return try Limits.gateThresholds(text, .minEntropy(0), option: option)
    default: throw ReplError("table '\(which)': expected patches or transmit")
    }
}

extension Session {
    /// The current setting, checked against the open cache (`Limits.check`):
    /// runs, the measure's head, the rule's k (and the swept ks) <= P.
    func validSetting(ruleParameters: [Double]? = nil) throws -> Setting {
        let (cache, _) = try requireCache()
        try Limits.check(setting, in: cache, ruleParameters: ruleParameters)
        return setting
    }
}
