import Foundation

/// Charts written as standalone SVG (no plotting dependency): line charts
/// with titled axes, ticks, grid, legend and marked points; histograms;
/// stacked bars. Coordinates are data units; the chart maps them to a
/// 640 x 420 canvas with margins for the axes.
public struct Series: Sendable {
    public var name: String
    public var x: [Double]
    public var y: [Double]
    /// Draw markers at the points (and no line when `line` is false).
    public var markers: Bool
    public var line: Bool

    public init(name: String, x: [Double], y: [Double], markers: Bool = false, line: Bool = true) {
        precondition(x.count == y.count, "series \(name): \(x.count) x values, \(y.count) y values")
        self.name = name
        self.x = x
        self.y = y
        self.markers = markers
        self.line = line
    }
}

/// A labelled point to highlight (an operating point).
public struct Marker: Sendable {
    public var label: String
    public var x: Double
    public var y: Double
    public init(label: String, x: Double, y: Double) { self.label = label; self.x = x; self.y = y }
}

public enum SVGChart {
    static let width = 640.0, height = 420.0
    static let left = 70.0, right = 20.0, top = 40.0, bottom = 55.0
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf"]

    /// A line chart of `series` with `markers` highlighted.
    public static func lines(title: String, xLabel: String, yLabel: String, series: [Series], markers: [Marker] = []) -> String {
        let xs = series.flatMap(\.x) + markers.map(\.x), ys = series.flatMap(\.y) + markers.map(\.y)
        let frame = Frame(x: range(xs), y: range(ys))
        var body = axes(frame, title: title, xLabel: xLabel, yLabel: yLabel)
        for (i, s) in series.enumerated() {
            let color = palette[i % palette.count]
            let points = zip(s.x, s.y).filter { $0.0.isFinite && $0.1.isFinite }.map { frame.map($0.0, $0.1) }
            if s.line && points.count > 1 {
                let d = points.map { String(format: "%.2f,%.2f", $0.0, $0.1) }.joined(separator: " ")
                body += "<polyline class=\"series\" data-name=\"\(escape(s.name))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(d)\"/>\n"
            }
            if s.markers || !s.line || points.count == 1 {
                for p in points {
                    body += String(format: "<circle class=\"point\" data-name=\"%@\" cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%@\"/>\n", escape(s.name), p.0, p.1, color)
                }
            }
        }
        for m in markers {
            let p = frame.map(m.x, m.y)
            body += String(format: "<circle class=\"marker\" cx=\"%.2f\" cy=\"%.2f\" r=\"6\" fill=\"none\" stroke=\"black\" stroke-width=\"2\"/>\n", p.0, p.1)
            body += String(format: "<text x=\"%.2f\" y=\"%.2f\" font-size=\"12\">%@</text>\n", p.0 + 8, p.1 - 8, escape(m.label))
        }
        body += legend(series.map(\.name))
        return document(body)
    }

    /// Histograms binned beforehand: `edges` (bins + 1) shared by every series,
    /// each series one value per bin (e.g. a fraction), drawn as filled
    /// outlines. With `logY`, the axis shows log10 of the values; empty bins
    /// sit at the bottom of the axis.
    public static func histogram(title: String, xLabel: String, yLabel: String, edges: [Double],
                                 series: [(name: String, values: [Double])], logY: Bool = false) -> String {
        let positive = series.flatMap(\.values).filter { $0 > 0 }
        let floor = log10(positive.min() ?? 1) - 0.5
        let shown = series.map { s in s.values.map { logY ? ($0 > 0 ? log10($0) : floor) : $0 } }
        let top = shown.flatMap { $0 }.max() ?? 1
        let y = logY ? floor...max(floor + 1e-12, top + 0.2) : 0...max(1e-12, top * 1.05)
        let base = y.lowerBound
        let frame = Frame(x: (edges.first ?? 0)...max((edges.first ?? 0) + 1e-12, edges.last ?? 1), y: y)
        var body = axes(frame, title: title, xLabel: xLabel, yLabel: logY ? yLabel + " (log10)" : yLabel)
        for (i, values) in shown.enumerated() {
            var points: [(Double, Double)] = [frame.map(edges[0], base)]
            for (b, v) in values.enumerated() {
                points.append(frame.map(edges[b], v))
                points.append(frame.map(edges[b + 1], v))
            }
            points.append(frame.map(edges[values.count], base))
            let path = points.map { String(format: "%.2f,%.2f", $0.0, $0.1) }.joined(separator: " ")
            let color = palette[i % palette.count]
            body += "<polyline class=\"series\" data-name=\"\(escape(series[i].name))\" fill=\"\(color)\" fill-opacity=\"0.25\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(path)\"/>\n"
        }
        body += legend(series.map(\.name))
        return document(body)
    }

    /// Stacked bars: one bar per category, one segment per part.
    public static func stackedBars(title: String, yLabel: String, categories: [String], parts: [(name: String, values: [Double])]) -> String {
        let totals = categories.indices.map { c in parts.reduce(0) { $0 + $1.values[c] } }
        let frame = Frame(x: 0...Double(categories.count), y: 0...max(1e-12, totals.max() ?? 1) * 1.1)
        var body = axes(frame, title: title, xLabel: "", yLabel: yLabel, xTicks: false)
        for (c, name) in categories.enumerated() {
            var base = 0.0
            for (i, part) in parts.enumerated() {
                let p0 = frame.map(Double(c) + 0.2, base + part.values[c]), p1 = frame.map(Double(c) + 0.8, base)
                body += String(format: "<rect class=\"bar\" data-name=\"%@\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%@\"/>\n",
                               escape(part.name), p0.0, p0.1, p1.0 - p0.0, p1.1 - p0.1, palette[i % palette.count])
                base += part.values[c]
            }
            let label = frame.map(Double(c) + 0.5, 0)
            body += String(format: "<text x=\"%.2f\" y=\"%.2f\" font-size=\"12\" text-anchor=\"middle\">%@</text>\n", label.0, label.1 + 16, escape(name))
        }
        body += legend(parts.map(\.name))
        return document(body)
    }

    struct Frame {
        let x: ClosedRange<Double>, y: ClosedRange<Double>
        func map(_ a: Double, _ b: Double) -> (Double, Double) {
            let px = left + (a - x.lowerBound) / (x.upperBound - x.lowerBound) * (width - left - right)
            let py = height - bottom - (b - y.lowerBound) / (y.upperBound - y.lowerBound) * (height - top - bottom)
            return (px, py)
        }
    }

    /// A padded range covering `values` (a unit range when empty or flat).
    static func range(_ values: [Double]) -> ClosedRange<Double> {
        let v = values.filter(\.isFinite)
        guard let lo = v.min(), let hi = v.max() else { return 0...1 }
        if hi - lo < 1e-12 { return (lo - 0.5)...(hi + 0.5) }
        let pad = (hi - lo) * 0.05
        return (lo - pad)...(hi + pad)
    }

    /// About five round tick values inside `r`.
    static func ticks(_ r: ClosedRange<Double>) -> [Double] {
        let raw = (r.upperBound - r.lowerBound) / 5
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var t = ceil(r.lowerBound / step) * step, out: [Double] = []
        while t <= r.upperBound + step * 1e-9 { out.append(abs(t) < step * 1e-9 ? 0 : t); t += step }
        return out
    }

    static func axes(_ f: Frame, title: String, xLabel: String, yLabel: String, xTicks: Bool = true) -> String {
        var s = ""
        let (x0, y0) = f.map(f.x.lowerBound, f.y.lowerBound), (x1, y1) = f.map(f.x.upperBound, f.y.upperBound)
        s += String(format: "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"white\" stroke=\"#444\"/>\n", x0, y1, x1 - x0, y0 - y1)
        for t in ticks(f.y) {
            let p = f.map(f.x.lowerBound, t)
            s += String(format: "<line class=\"grid\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#ddd\"/>\n", x0, p.1, x1, p.1)
            s += String(format: "<text x=\"%.2f\" y=\"%.2f\" font-size=\"11\" text-anchor=\"end\">%@</text>\n", x0 - 6, p.1 + 4, label(t))
        }
        if xTicks {
            for t in ticks(f.x) {
                let p = f.map(t, f.y.lowerBound)
                s += String(format: "<line class=\"grid\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#ddd\"/>\n", p.0, y1, p.0, y0)
                s += String(format: "<text x=\"%.2f\" y=\"%.2f\" font-size=\"11\" text-anchor=\"middle\">%@</text>\n", p.0, y0 + 16, label(t))
            }
        }
        s += String(format: "<text x=\"%.2f\" y=\"24\" font-size=\"15\" text-anchor=\"middle\" font-weight=\"bold\">%@</text>\n", width / 2, escape(title))
        s += String(format: "<text x=\"%.2f\" y=\"%.2f\" font-size=\"13\" text-anchor=\"middle\">%@</text>\n", (x0 + x1) / 2, height - 12, escape(xLabel))
        s += String(format: "<text x=\"16\" y=\"%.2f\" font-size=\"13\" text-anchor=\"middle\" transform=\"rotate(-90 16 %.2f)\">%@</text>\n",
                    (y0 + y1) / 2, (y0 + y1) / 2, escape(yLabel))
        return s
    }

    static func legend(_ names: [String]) -> String {
        var s = ""
        for (i, name) in names.enumerated() {
            let y = top + 14 + Double(i) * 18
            s += String(format: "<rect x=\"%.2f\" y=\"%.2f\" width=\"14\" height=\"4\" fill=\"%@\"/>\n", width - right - 170, y - 4, palette[i % palette.count])
            s += String(format: "<text class=\"legend\" x=\"%.2f\" y=\"%.2f\" font-size=\"12\">%@</text>\n", width - right - 150, y + 2, escape(name))
        }
        return s
    }

    static func label(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e6 { return String(Int(v)) }
        return String(format: abs(v) < 0.01 ? "%.2g" : "%.3g", v)
    }

    static func document(_ body: String) -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n" + body + "</svg>\n"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
