import Foundation

/// Charts written as standalone SVG (no plotting dependency): line charts
/// with titled axes, ticks, grid, legend and marked points; histograms;
/// stacked bars. Coordinates are data units; the chart maps them to a plot
/// area on a 640 x 420 canvas with margins for the titles and axes. The
/// legend goes in the first inside corner where it covers no data, else
/// outside the axes on the right (the canvas widened for it).
public struct Series: Sendable {
    public var name: String
    public var x: [Double]
    public var y: [Double]
    /// Draw markers at the points (and no line when `line` is false).
    public var markers: Bool
    public var line: Bool
    /// Dashed line (e.g. a reference the other series are compared with).
    public var dashed: Bool

    public init(name: String, x: [Double], y: [Double], markers: Bool = false, line: Bool = true, dashed: Bool = false) {
        precondition(x.count == y.count, "series \(name): \(x.count) x values, \(y.count) y values")
        self.name = name
        self.x = x
        self.y = y
        self.markers = markers
        self.line = line
        self.dashed = dashed
    }
}

/// A labelled point to highlight (an operating point).
public struct Marker: Sendable {
    public var label: String
    public var x: Double
    public var y: Double
    public init(label: String, x: Double, y: Double) { self.label = label; self.x = x; self.y = y }
}

/// The words of a chart: its title, an optional second line under it (e.g.
/// the models compared), and the axis titles (quantity and unit).
public struct ChartText: Sendable {
    public var title: String
    public var subtitle: String
    public var xLabel: String
    public var yLabel: String
    public init(title: String, subtitle: String = "", xLabel: String, yLabel: String) {
        self.title = title
        self.subtitle = subtitle
        self.xLabel = xLabel
        self.yLabel = yLabel
    }
}

/// Where a chart's legend went: an inside corner of the plot area, or outside it on the right.
public enum LegendPlacement: String, Sendable, CaseIterable {
    case topRight = "top-right", topLeft = "top-left", bottomRight = "bottom-right", bottomLeft = "bottom-left", outside
}

public enum SVGChart {
    static let width = 640.0, height = 420.0
    static let left = 70.0, right = 20.0, bottom = 55.0
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf"]

    /// A line chart of `series` with `markers` highlighted.
    public static func lines(_ text: ChartText, series: [Series], markers: [Marker] = []) -> String {
        let xs = series.flatMap(\.x) + markers.map(\.x), ys = series.flatMap(\.y) + markers.map(\.y)
        let frame = Frame(x: range(xs), y: range(ys), subtitled: !text.subtitle.isEmpty)
        var body = axes(frame, text)
        var drawn = Obstacles(), entries: [LegendEntry] = []
        for (i, s) in series.enumerated() {
            let color = palette[i % palette.count]
            let points = zip(s.x, s.y).filter { $0.0.isFinite && $0.1.isFinite }.map { frame.map($0.0, $0.1) }
            let line = s.line && points.count > 1, dots = s.markers || !s.line || points.count == 1
            if line {
                let d = points.map { String(format: "%.2f,%.2f", $0.0, $0.1) }.joined(separator: " ")
                body += "<polyline class=\"series\" data-name=\"\(escape(s.name))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(s.dashed ? " stroke-dasharray=\"6 4\"" : "") points=\"\(d)\"/>\n"
                drawn.segments += zip(points, points.dropFirst()).map { ($0, $1) }
            }
            if dots {
                for p in points {
                    body += String(format: "<circle class=\"point\" data-name=\"%@\" cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%@\"/>\n", escape(s.name), p.0, p.1, color)
                }
                drawn.points += points
            }
            entries.append(LegendEntry(name: s.name, color: color, style: line ? (dots ? .lineAndDot : .line) : .dot, dashed: s.dashed))
        }
        for m in markers {
            let p = frame.map(m.x, m.y), w = textWidth(m.label, size: 12)
            // The label beside the marker where it covers the least data: above or below, right or left.
            let spots = [Box(x: p.0 + 8, y: p.1 - 22, width: w, height: 14), Box(x: p.0 + 8, y: p.1 + 8, width: w, height: 14),
                         Box(x: p.0 - 8 - w, y: p.1 - 22, width: w, height: 14), Box(x: p.0 - 8 - w, y: p.1 + 8, width: w, height: 14)]
                .filter { $0.x >= frame.area.x && $0.x + $0.width <= frame.area.x + frame.area.width }
            let spot = spots.min { drawn.hits($0) < drawn.hits($1) } ?? Box(x: p.0 + 8, y: p.1 - 22, width: w, height: 14)
            body += String(format: "<circle class=\"marker\" cx=\"%.2f\" cy=\"%.2f\" r=\"6\" fill=\"none\" stroke=\"black\" stroke-width=\"2\"/>\n", p.0, p.1)
            body += String(format: "<text class=\"marker-label\" x=\"%.2f\" y=\"%.2f\" font-size=\"12\">%@</text>\n", spot.x, spot.y + 11, escape(m.label))
            drawn.points.append(p)
            drawn.boxes.append(spot)
        }
        return document(body, legend: legend(entries, frame: frame, avoiding: drawn))
    }

    /// Histograms binned beforehand: `edges` (bins + 1) shared by every series,
    /// each series one value per bin (e.g. a fraction), drawn as filled
    /// outlines. With `logY`, the axis shows log10 of the values (the y
    /// title says so); empty bins sit at the bottom of the axis.
    public static func histogram(_ text: ChartText, edges: [Double], series: [(name: String, values: [Double])], logY: Bool = false) -> String {
        let positive = series.flatMap(\.values).filter { $0 > 0 }
        let floor = log10(positive.min() ?? 1) - 0.5
        let shown = series.map { s in s.values.map { logY ? ($0 > 0 ? log10($0) : floor) : $0 } }
        let top = shown.flatMap { $0 }.max() ?? 1
        let y = logY ? floor...max(floor + 1e-12, top + 0.2) : 0...max(1e-12, top * 1.05)
        let base = y.lowerBound
        var text = text
        if logY { text.yLabel = "log10 of " + text.yLabel }
        let frame = Frame(x: (edges.first ?? 0)...max((edges.first ?? 0) + 1e-12, edges.last ?? 1), y: y, subtitled: !text.subtitle.isEmpty)
        var body = axes(frame, text)
        var drawn = Obstacles(), entries: [LegendEntry] = []
        for (i, values) in shown.enumerated() {
            var points: [(Double, Double)] = [frame.map(edges[0], base)]
            for (b, v) in values.enumerated() {
                points.append(frame.map(edges[b], v))
                points.append(frame.map(edges[b + 1], v))
                let p0 = frame.map(edges[b], v), p1 = frame.map(edges[b + 1], base)
                if v > base { drawn.boxes.append(Box(x: p0.0, y: p0.1, width: p1.0 - p0.0, height: p1.1 - p0.1)) }
            }
            points.append(frame.map(edges[values.count], base))
            let path = points.map { String(format: "%.2f,%.2f", $0.0, $0.1) }.joined(separator: " ")
            let color = palette[i % palette.count]
            body += "<polyline class=\"series\" data-name=\"\(escape(series[i].name))\" fill=\"\(color)\" fill-opacity=\"0.25\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(path)\"/>\n"
            entries.append(LegendEntry(name: series[i].name, color: color, style: .fill, dashed: false))
        }
        return document(body, legend: legend(entries, frame: frame, avoiding: drawn))
    }

    /// Stacked bars: one bar per category (named under it, `text.xLabel` the
    /// axis title), one segment per part.
    public static func stackedBars(_ text: ChartText, categories: [String], parts: [(name: String, values: [Double])]) -> String {
        let totals = categories.indices.map { c in parts.reduce(0) { $0 + $1.values[c] } }
        let frame = Frame(x: 0...Double(categories.count), y: 0...max(1e-12, totals.max() ?? 1) * 1.1, subtitled: !text.subtitle.isEmpty)
        var body = axes(frame, text, xTicks: false)
        var drawn = Obstacles()
        for (c, name) in categories.enumerated() {
            var base = 0.0
            for (i, part) in parts.enumerated() {
                let p0 = frame.map(Double(c) + 0.2, base + part.values[c]), p1 = frame.map(Double(c) + 0.8, base)
                body += String(format: "<rect class=\"bar\" data-name=\"%@\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%@\"/>\n",
                               escape(part.name), p0.0, p0.1, p1.0 - p0.0, p1.1 - p0.1, palette[i % palette.count])
                drawn.boxes.append(Box(x: p0.0, y: p0.1, width: p1.0 - p0.0, height: p1.1 - p0.1))
                base += part.values[c]
            }
            let label = frame.map(Double(c) + 0.5, 0)
            body += String(format: "<text x=\"%.2f\" y=\"%.2f\" font-size=\"12\" text-anchor=\"middle\">%@</text>\n", label.0, label.1 + 16, escape(name))
        }
        let entries = parts.enumerated().map { LegendEntry(name: $1.name, color: palette[$0 % palette.count], style: .fill, dashed: false) }
        return document(body, legend: legend(entries, frame: frame, avoiding: drawn))
    }

    /// Data ranges mapped to the plot area, in pixels (y down). The area
    /// starts lower when the title has a second line.
    struct Frame {
        let x: ClosedRange<Double>, y: ClosedRange<Double>
        let top: Double
        init(x: ClosedRange<Double>, y: ClosedRange<Double>, subtitled: Bool) {
            self.x = x
            self.y = y
            top = subtitled ? 52 : 40
        }
        func map(_ a: Double, _ b: Double) -> (Double, Double) {
            let px = left + (a - x.lowerBound) / (x.upperBound - x.lowerBound) * (width - left - right)
            let py = height - bottom - (b - y.lowerBound) / (y.upperBound - y.lowerBound) * (height - top - bottom)
            return (px, py)
        }
        /// The plot area in pixels.
        var area: Box { Box(x: left, y: top, width: width - left - right, height: height - top - bottom) }
    }

    /// A rectangle in pixels (y down).
    struct Box: Equatable {
        var x, y, width, height: Double
        func intersects(_ b: Box) -> Bool { x < b.x + b.width && b.x < x + width && y < b.y + b.height && b.y < y + height }
        func contains(_ p: (Double, Double), margin: Double = 0) -> Bool {
            p.0 >= x - margin && p.0 <= x + width + margin && p.1 >= y - margin && p.1 <= y + height + margin
        }
        /// Whether the segment a-b passes through the box (Liang-Barsky clipping).
        func crosses(_ a: (Double, Double), _ b: (Double, Double)) -> Bool {
            let (dx, dy) = (b.0 - a.0, b.1 - a.1)
            var t0 = 0.0, t1 = 1.0
            for (p, q) in [(-dx, a.0 - x), (dx, x + width - a.0), (-dy, a.1 - y), (dy, y + height - a.1)] {
                if p == 0 { if q < 0 { return false }; continue }
                let r = q / p
                if p < 0 { t0 = max(t0, r) } else { t1 = min(t1, r) }
                if t0 > t1 { return false }
            }
            return true
        }
    }

    /// What a legend must not cover: data points (markers drawn 3 px around
    /// them), line segments, and filled boxes (bars, histogram bins, labels).
    struct Obstacles {
        var points: [(Double, Double)] = []
        var segments: [((Double, Double), (Double, Double))] = []
        var boxes: [Box] = []
        /// How many of them `box` covers.
        func hits(_ box: Box) -> Int {
            points.filter { box.contains($0, margin: 3) }.count + segments.filter { box.crosses($0.0, $0.1) }.count
                + boxes.filter { box.intersects($0) }.count
        }
    }

    struct LegendEntry {
        enum Style { case line, dot, lineAndDot, fill }
        let name: String, color: String, style: Style, dashed: Bool
    }

    /// The legend's size for `entries` (a swatch and the name, 18 px a row).
    static func legendSize(_ entries: [LegendEntry]) -> (width: Double, height: Double) {
        (32 + (entries.map { textWidth($0.name, size: 12) }.max() ?? 0), 8 + 18 * Double(entries.count))
    }

    /// The legend's box: the first inside corner (top right, top left, bottom
    /// right, bottom left, 8 px in) where it covers nothing of `drawn`, else
    /// outside the plot area on the right.
    static func placeLegend(_ entries: [LegendEntry], frame: Frame, avoiding drawn: Obstacles) -> (LegendPlacement, Box) {
        let (w, h) = legendSize(entries), a = frame.area, pad = 8.0
        let corners: [(LegendPlacement, Box)] = [
            (.topRight, Box(x: a.x + a.width - pad - w, y: a.y + pad, width: w, height: h)),
            (.topLeft, Box(x: a.x + pad, y: a.y + pad, width: w, height: h)),
            (.bottomRight, Box(x: a.x + a.width - pad - w, y: a.y + a.height - pad - h, width: w, height: h)),
            (.bottomLeft, Box(x: a.x + pad, y: a.y + a.height - pad - h, width: w, height: h)),
        ]
        if let free = corners.first(where: { drawn.hits($0.1) == 0 }) { return free }
        return (.outside, Box(x: width - right + 12, y: a.y, width: w, height: h))
    }

    /// The legend's SVG and the canvas width it needs (wider than the
    /// default when it sits outside the axes). No entries: no legend.
    static func legend(_ entries: [LegendEntry], frame: Frame, avoiding drawn: Obstacles) -> (svg: String, width: Double) {
        guard !entries.isEmpty else { return ("", width) }
        let (placement, box) = placeLegend(entries, frame: frame, avoiding: drawn)
        var s = "<g class=\"legend\" data-placement=\"\(placement.rawValue)\">\n"
        s += String(format: "<rect class=\"legend-box\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"white\" fill-opacity=\"0.9\" stroke=\"#999\"/>\n",
                    box.x, box.y, box.width, box.height)
        for (i, e) in entries.enumerated() {
            let y = box.y + 4 + 18 * Double(i) + 9, x = box.x + 6
            switch e.style {
            case .fill:
                s += String(format: "<rect x=\"%.2f\" y=\"%.2f\" width=\"14\" height=\"10\" fill=\"%@\" fill-opacity=\"0.6\" stroke=\"%@\"/>\n", x, y - 5, e.color, e.color)
            case .line, .lineAndDot:
                s += String(format: "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%@\" stroke-width=\"2\"%@/>\n",
                            x, y, x + 16, y, e.color, e.dashed ? " stroke-dasharray=\"4 3\"" : "")
                if e.style == .lineAndDot { s += String(format: "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%@\"/>\n", x + 8, y, e.color) }
            case .dot:
                s += String(format: "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%@\"/>\n", x + 8, y, e.color)
            }
            s += String(format: "<text class=\"legend\" x=\"%.2f\" y=\"%.2f\" font-size=\"12\">%@</text>\n", x + 22, y + 4, escape(e.name))
        }
        s += "</g>\n"
        return (s, placement == .outside ? box.x + box.width + 10 : width)
    }

    /// About how wide `text` is in the chart's sans-serif font at `size` px.
    static func textWidth(_ text: String, size: Double) -> Double { Double(text.count) * size * 0.58 }

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

    static func axes(_ f: Frame, _ text: ChartText, xTicks: Bool = true) -> String {
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
        s += String(format: "<text class=\"title\" x=\"%.2f\" y=\"22\" font-size=\"15\" text-anchor=\"middle\" font-weight=\"bold\">%@</text>\n", width / 2, escape(text.title))
        if !text.subtitle.isEmpty {
            s += String(format: "<text class=\"subtitle\" x=\"%.2f\" y=\"40\" font-size=\"12\" text-anchor=\"middle\">%@</text>\n", width / 2, escape(text.subtitle))
        }
        s += String(format: "<text class=\"x-title\" x=\"%.2f\" y=\"%.2f\" font-size=\"13\" text-anchor=\"middle\">%@</text>\n", (x0 + x1) / 2, height - 12, escape(text.xLabel))
        s += String(format: "<text class=\"y-title\" x=\"16\" y=\"%.2f\" font-size=\"13\" text-anchor=\"middle\" transform=\"rotate(-90 16 %.2f)\">%@</text>\n",
                    (y0 + y1) / 2, (y0 + y1) / 2, escape(text.yLabel))
        return s
    }

    static func label(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e6 { return String(Int(v)) }
        return String(format: abs(v) < 0.01 ? "%.2g" : "%.3g", v)
    }

    /// The whole SVG: `body`, then the legend on top, on a canvas as wide as the legend needs.
    static func document(_ body: String, legend: (svg: String, width: Double)) -> String {
        let w = Int(legend.width.rounded(.up)), h = Int(height)
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(w)\" height=\"\(h)\" viewBox=\"0 0 \(w) \(h)\" font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n" + body + legend.svg + "</svg>\n"
    }

    /// `s` as XML text or attribute value.
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
