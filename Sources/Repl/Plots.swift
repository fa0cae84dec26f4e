import Collaborative
import Figures
import Foundation

/// `plot`: an SVG of saved or last results, or of score histograms.
/// `sweep`, `pareto` and `latency` take a table by name (`save NAME`),
/// `last`, or nothing: the latest result of that command; a table of
/// another kind is refused in one line naming what exists.
func plot(_ s: Session, _ a: [String]) throws -> String {
    let usage = "usage: plot sweep|pareto|latency [NAME|last] FILE.svg | plot lines X Y[,Y...] TABLE... [@MARKS] FILE.svg | plot hist [log] MEASURE... FILE.svg"
    guard a.count >= 2 else { throw ReplError(usage) }
    let file = a.last!
    guard file.hasSuffix(".svg") else { throw ReplError("plot: the output must be an .svg file, got '\(file)'") }
    let svg: String
    switch a[0] {
    case "sweep":
        let (t, _) = try plotted(s, "sweep", accepts: ["sweep"], a[1..<(a.count - 1)])
        let cost = t.numbers("comm_cost")!, acc = t.numbers("accuracy")!, flags = t.numbers("pareto")!
        let front = t.rows.indices.filter { flags[$0] == 1 }.sorted { cost[$0] < cost[$1] }
        let series = [Series(name: "every (rule, gate) setting", x: cost, y: acc, markers: true, line: false),
                      Series(name: "Pareto front", x: front.map { cost[$0] }, y: front.map { acc[$0] }, markers: true)]
        svg = SVGChart.lines(chartText(s, default: "Accuracy vs communication cost", x: ["comm_cost"], y: ["accuracy"], tables: [t]), series: series)
    case "pareto":
        let (t, _) = try plotted(s, "pareto", accepts: ["pareto", "sweep"], a[1..<(a.count - 1)])
        let cost = t.numbers("comm_cost")!, acc = t.numbers("accuracy")!, flags = t.numbers("pareto")!
        let front = t.rows.indices.filter { flags[$0] == 1 }.sorted { cost[$0] < cost[$1] }
        let series = [Series(name: "Pareto front", x: front.map { cost[$0] }, y: front.map { acc[$0] }, markers: true)]
        svg = SVGChart.lines(chartText(s, default: "Pareto front: accuracy vs communication cost", x: ["comm_cost"], y: ["accuracy"], tables: [t]), series: series)
    case "latency":
        let (t, _) = try plotted(s, "latency", accepts: ["latency"], a[1..<(a.count - 1)])
        let parts = ["edge_ms", "uplink_ms", "server_ms"].map { (words($0).series, t.numbers($0)!) }
        let text = chartText(s, default: "Latency per image by part", x: ["uplink_mbps"], y: ["latency_ms"], tables: [t])
        svg = SVGChart.stackedBars(text, categories: t.rows.map { $0[0].text }, parts: parts)
    case "hist":
        let logY = a[1] == "log"
        let measures = Array(a[(logY ? 2 : 1)..<(a.count - 1)])
        guard !measures.isEmpty else { throw ReplError("usage: plot hist [log] MEASURE... FILE.svg") }
        let hists = try scoreHistograms(s, measures)
        let (cache, _) = try s.requireCache()
        let text = ChartText(title: s.title ?? "Patch scores", subtitle: "scores of \(try cache.run(s.setting.encoder).architecture) (run '\(s.setting.encoder)')",
                             xLabel: words("bin_start").axis, yLabel: "fraction of all patch scores")
        svg = SVGChart.histogram(text, edges: hists[0].edges, series: zip(measures, hists).map { (measureWords($0), $1.fractions) }, logY: logY)
    case "lines":
        svg = try linesPlot(s, Array(a.dropLast()))
    default:
        throw ReplError("plot '\(a[0])': expected sweep, pareto, latency, lines or hist")
    }
    s.title = nil
    return "wrote \(try s.write(svg, to: file, kind: .svg))"
}

/// A measure's name in a legend: `mean` and `rollout` in words, others as given.
func measureWords(_ measure: String) -> String {
    ["mean": "mean attention", "rollout": "attention rollout"][measure] ?? measure
}

/// `plot lines X Y[,Y...] TABLE... [@MARKS]` (without the file): column X
/// against each Y of each saved table (or `last`); `NAME:points` draws a table as
/// points, `@NAME` marks its rows. Series are named by table (its name's
/// hyphens and underscores as spaces: `Pareto-front` is "Pareto front"), by
/// column (one table, several Y), or both.
func linesPlot(_ s: Session, _ a: [String]) throws -> String {
    guard a.count >= 4 else { throw ReplError("usage: plot lines X Y[,Y...] TABLE... [@MARKS] FILE.svg") }
    let xc = a[1], ycs = a[2].split(separator: ",").map(String.init)
    guard !ycs.isEmpty else { throw ReplError("plot lines: no Y column in '\(a[2])'") }
    let names = a[3...]
    let lineTables = names.filter { !$0.hasPrefix("@") }.count
    var series: [Series] = [], marks: [Marker] = [], used: [ResultTable] = []
    for name in names {
        let key = name.hasPrefix("@") ? String(name.dropFirst()) : name
        let scatter = key.hasSuffix(":points")
        let base = scatter ? String(key.dropLast(7)) : key
        guard let t = base == "last" ? s.last : s.saved[base] else {
            throw ReplError("plot lines: no saved result '\(base)' (\(s.resultsInWords); use 'save \(base)' after a command)")
        }
        if t.rows.isEmpty { continue }  // e.g. a baseline the cache has no runs for
        let shown = base.replacingOccurrences(of: "-", with: " ").replacingOccurrences(of: "_", with: " ")  // in words
        guard let xs = t.numbers(xc) else { throw ReplError("plot lines: '\(base)' has no column \(xc) (columns: \(t.columns.joined(separator: ", ")))") }
        used.append(t)
        for yc in ycs {
            guard let ys = t.numbers(yc) else { throw ReplError("plot lines: '\(base)' has no column \(yc) (columns: \(t.columns.joined(separator: ", ")))") }
            if name.hasPrefix("@") {
                let rules = t.columns.firstIndex(of: "rule"), gates = t.columns.firstIndex(of: "gate")
                marks += t.rows.indices.map { r in
                    let setting = [rules, gates].compactMap { $0.map { t.rows[r][$0].text } }.joined(separator: ", ")
                    return Marker(label: setting.isEmpty ? shown : "\(shown): \(setting)", x: xs[r], y: ys[r])
                }
                continue
            }
            let points = zip(xs, ys).sorted { $0.0 < $1.0 }
            let label = ycs.count == 1 ? shown : lineTables == 1 ? words(yc).series : "\(shown): \(words(yc).series)"
            series.append(Series(name: label, x: points.map(\.0), y: points.map(\.1), markers: scatter || t.rows.count < 30, line: !scatter))
        }
    }
    let title = "\(words(ycs[0]).quantity) vs \(words(xc).quantity)"
    return SVGChart.lines(chartText(s, default: title.prefix(1).uppercased() + title.dropFirst(), x: [xc], y: ycs, tables: used), series: series, markers: marks)
}

/// The title (`set title`, else `fallback`), the models of `tables` as the
/// second line, and the axis titles of columns `x` and `y`.
func chartText(_ s: Session, default fallback: String, x: [String], y: [String], tables: [ResultTable]) -> ChartText {
    var models: [String] = []
    for m in tables.compactMap(\.models) where !models.contains(m) { models.append(m) }
    return ChartText(title: s.title ?? fallback, subtitle: models.joined(separator: "; "), xLabel: axisTitle(x), yLabel: axisTitle(y))
}

/// The table `plot KIND` draws: `args` empty, the latest result of command
/// `kind`; `last`, the last result; else the saved result of that name. It
/// must come from one of the commands `accepts`; otherwise one line says
/// what there is. Returns the table and how it was named.
func plotted(_ s: Session, _ kind: String, accepts: Set<String>, _ args: ArraySlice<String>) throws -> (ResultTable, String) {
    guard args.count <= 1 else { throw ReplError("usage: plot \(kind) [NAME|last] FILE.svg") }
    let fix = "run '\(kind)' or name a saved \(kind) result"
    guard let name = args.first else {
        guard let t = s.latest[kind] else { throw ReplError("plot \(kind): no \(kind) result yet (\(s.resultsInWords)); \(fix)") }
        return (t, "the latest \(kind)")
    }
    let (table, what): (ResultTable?, String) = name == "last" ? (s.last, "the last result") : (s.saved[name], "'\(name)'")
    guard let t = table else {
        throw ReplError(name == "last" ? "plot \(kind): no result yet; \(fix)" : "plot \(kind): no saved result '\(name)' (\(s.resultsInWords)); \(fix)")
    }
    guard let command = t.command, accepts.contains(command) else {
        throw ReplError("plot \(kind): \(what) is \(Session.kindInWords(t)), not from \(accepts.sorted().map { "'\($0)'" }.joined(separator: " or ")) (\(s.resultsInWords)); \(fix)")
    }
    return (t, what)
}

extension Session {
    /// A table's kind for messages: `a table from 'pareto' (12 rows)`.
    static func kindInWords(_ t: ResultTable) -> String {
        "a table\(t.command.map { " from '\($0)'" } ?? "") (\(t.rows.count) row\(t.rows.count == 1 ? "" : "s"))"
    }

    /// What results there are, for messages: the last one and the saved ones with their kinds.
    var resultsInWords: String {
        let last = self.last.map { "the last result is \(Self.kindInWords($0))" } ?? "no result yet"
        let saved = self.saved.keys.sorted().map { "\($0) (\(self.saved[$0]!.command ?? "table"))" }
        return last + "; " + (saved.isEmpty ? "nothing saved" : "saved: " + saved.joined(separator: ", "))
    }
}
