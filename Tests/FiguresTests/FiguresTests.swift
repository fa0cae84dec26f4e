import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Imaging
import XCTest
@testable import Figures

/// Issue 12 item 10: legends where they cover no data, titled axes, and the
/// caption band of the attention overlays (bitmap font, colour bar).
final class FiguresTests: XCTestCase {
    let text = ChartText(title: "t", xLabel: "communication cost (fraction of patches sent)", yLabel: "top-1 accuracy (fraction)")

    /// A series whose points fill the top-right corner of the plot area
    /// moves the legend to the next free corner, and it covers no point.
    func testLegendAvoidsACornerFullOfData() throws {
        // A dense block in the upper right quarter, one point at the lower left to span the axes.
        var x = [0.0], y = [0.0]
        for i in 0..<15 { for j in 0..<15 { x.append(0.6 + 0.4 * Double(i) / 14); y.append(0.6 + 0.4 * Double(j) / 14) } }
        let svg = SVGChart.lines(text, series: [Series(name: "a long series name", x: x, y: y, markers: true, line: false)])
        let chart = try Chart(svg)
        XCTAssertEqual(chart.placement, "top-left")
        XCTAssertEqual(chart.points.count, x.count)
        XCTAssertTrue(chart.points.allSatisfy { !chart.legend.contains($0, margin: 3) }, "the legend covers a point")
        // The same data at the left: the legend takes the top right.
        let mirrored = try Chart(SVGChart.lines(text, series: [Series(name: "a long series name", x: x.map { 1 - $0 }, y: y, markers: true, line: false)]))
        XCTAssertEqual(mirrored.placement, "top-right")
        XCTAssertTrue(mirrored.points.allSatisfy { !mirrored.legend.contains($0, margin: 3) })
    }

    /// A line through every corner: the legend goes outside the axes, on a wider canvas.
    func testLegendGoesOutsideWhenEveryCornerHasData() throws {
        let series = [Series(name: "rising", x: [0, 1], y: [0, 1]), Series(name: "falling", x: [0, 1], y: [1, 0])]
        let chart = try Chart(SVGChart.lines(text, series: series))
        XCTAssertEqual(chart.placement, "outside")
        XCTAssertGreaterThan(chart.width, SVGChart.width)
        XCTAssertGreaterThanOrEqual(chart.legend.x, SVGChart.width - SVGChart.right)
        XCTAssertLessThanOrEqual(chart.legend.x + chart.legend.width, chart.width)
        // One line only (the rising one) leaves the top-left corner free.
        XCTAssertEqual(try Chart(SVGChart.lines(text, series: [series[0]])).placement, "top-left")
    }

    /// Histogram bins and bars are data too: tall bins at the left push the legend right.
    func testLegendAvoidsFilledAreas() throws {
        let hist = try Chart(SVGChart.histogram(text, edges: [0, 0.25, 0.5, 0.75, 1], series: [(name: "mean attention", values: [1, 0.9, 0.05, 0.01])]))
        XCTAssertEqual(hist.placement, "top-right")
        let falling = try Chart(SVGChart.histogram(text, edges: [0, 0.25, 0.5, 0.75, 1], series: [(name: "mean attention", values: [0.01, 0.05, 0.9, 1])]))
        XCTAssertEqual(falling.placement, "top-left")
        let bars = SVGChart.stackedBars(ChartText(title: "t", xLabel: "uplink rate (Mbit/s)", yLabel: "latency per image (ms)"),
                                        categories: ["1", "8"], parts: [(name: "edge compute", values: [10, 10]), (name: "uplink transfer", values: [20, 2])])
        let chart = try Chart(bars)
        XCTAssertTrue(chart.texts["x-title"] == "uplink rate (Mbit/s)", "\(chart.texts)")
        XCTAssertEqual(chart.legendNames, ["edge compute", "uplink transfer"])
        XCTAssertTrue(chart.bars.allSatisfy { !chart.legend.intersects($0) }, "the legend covers a bar")
    }

    /// Titles, subtitle and names are escaped: the SVG stays well-formed XML.
    func testTextIsEscaped() throws {
        let svg = SVGChart.lines(ChartText(title: "A & B <c>", subtitle: "x → y \"q\"", xLabel: "a < b", yLabel: "ms"),
                                 series: [Series(name: "s & t", x: [0, 1], y: [1, 2])])
        let chart = try Chart(svg)
        XCTAssertEqual(chart.texts["title"], "A & B <c>")
        XCTAssertEqual(chart.texts["subtitle"], "x → y \"q\"")
        XCTAssertEqual(chart.legendNames, ["s & t"])
    }

    /// The font draws the glyphs as designed: `L` is its left column and its bottom row.
    func testGlyphPixels() {
        for scale in [1, 2] {
            let (w, h) = (BitmapFont.advance * scale, BitmapFont.glyphHeight * scale)
            var pixels = [UInt8](repeating: 255, count: w * h * 3)
            BitmapFont.draw("L", x: 0, y: 0, scale: scale, color: (0, 0, 0), into: &pixels, width: w, height: h)
            for py in 0..<h {
                for px in 0..<w {
                    let (row, column) = (py / scale, px / scale)
                    let ink = column == 0 || (row == 6 && column < 5)
                    XCTAssertEqual(pixels[(py * w + px) * 3], ink ? 0 : 255, "L at scale \(scale), pixel (\(px), \(py))")
                }
            }
        }
        // Every printable character has a glyph of 7 rows of 5, and only the space is blank.
        XCTAssertEqual(BitmapFont.bits.count, 95)
        XCTAssertTrue(BitmapFont.bits.allSatisfy { $0.count == 7 && $0.allSatisfy { $0.count == 5 } })
        XCTAssertEqual(BitmapFont.bits.indices.filter { BitmapFont.bits[$0].joined().allSatisfy { !$0 } }, [0])
        // Distinct glyphs for distinct characters (no copy-paste slip in the table).
        XCTAssertEqual(Set(BitmapFont.table).count, 95)
        // Outside ASCII: '?', and the arrow as "->".
        XCTAssertEqual(BitmapFont.printable("é→"), ["?", "-", ">"])
        XCTAssertEqual(BitmapFont.width(of: "ab", scale: 3), 36)
    }

    /// The overlay's caption band: the PNG is the panels plus the band; the
    /// band holds the text as the font draws it and the colour bar follows the colour map.
    func testCaptionBand() throws {
        let s = 64, grid = 8
        let crop = RGBImage(width: s, height: s, pixels: (0..<(s * s * 3)).map { UInt8($0 % 251) })
        let scores = (0..<(grid * grid)).map { Float($0 + 1) / 2080 }
        let kept = Set(40..<64)
        let plain = AttentionOverlay.render(crop: crop, scores: scores, kept: kept)
        let z = s * AttentionOverlay.zoom(crop: s)
        XCTAssertEqual(z, 256, "64 px crops are enlarged to at least 224 px")
        XCTAssertEqual([plain.width, plain.height], [2 * z, z])
        let caption = ["image 3, true class: class 7", "edge: class 1, min-entropy 1.25 bits", "sent to the server (gate min:0.8)"]
        let image = AttentionOverlay.render(crop: crop, scores: scores, kept: kept, caption: caption)
        let band = CaptionBand(lines: caption, width: 2 * z, top: z)
        XCTAssertEqual(band.scale, 2, "36 characters fit at scale 2 in 512 px")
        XCTAssertEqual([image.width, image.height], [2 * z, z + band.height])
        XCTAssertEqual(Array(image.pixels[0..<(2 * z * z * 3)]), plain.pixels, "the panels are unchanged")
        let bandPixels = image.pixels[(2 * z * z * 3)...]
        XCTAssertTrue(bandPixels.contains { $0 != 255 }, "the band is not blank")
        func pixel(_ x: Int, _ y: Int) -> [UInt8] { Array(image.pixels[((y * image.width + x) * 3)..<((y * image.width + x) * 3 + 3)]) }
        // The text: each line's pixels are the font's drawing of it.
        for (i, line) in caption.enumerated() {
            let (w, h) = (BitmapFont.width(of: line, scale: band.scale), BitmapFont.glyphHeight * band.scale)
            var expected = [UInt8](repeating: 255, count: w * h * 3)
            BitmapFont.draw(line, x: 0, y: 0, scale: band.scale, color: CaptionBand.ink, into: &expected, width: w, height: h)
            let (x0, y0) = (CaptionBand.margin, band.lineTop(i) + band.scale)
            for y in 0..<h { for x in 0..<w { XCTAssertEqual(pixel(x0 + x, y0 + y), Array(expected[((y * w + x) * 3)..<((y * w + x) * 3 + 3)]), line) } }
        }
        // The colour bar: blue at 0, white at the middle, red at the highest score.
        let bar = band.bar
        XCTAssertGreaterThan(bar.width, 100)
        XCTAssertLessThanOrEqual(bar.y + bar.height, image.height)
        XCTAssertEqual(pixel(bar.x, bar.y), [0, 0, 255])
        XCTAssertEqual(pixel(bar.x + bar.width - 1, bar.y + bar.height - 1), [255, 0, 0])
        for i in stride(from: 0, to: bar.width, by: 7) {
            let (r, g, b) = AttentionOverlay.colormap(Double(i) / Double(bar.width - 1))
            XCTAssertEqual(pixel(bar.x + i, bar.y + bar.height / 2), [UInt8(r), UInt8(g), UInt8(b)], "bar column \(i)")
        }
        XCTAssertEqual(pixel(bar.x - 1, bar.y), [255, 255, 255], "the bar starts where the band says")
    }
}

/// An SVG chart read back: the legend's box and placement, the data points, bars, and texts by class.
struct Chart {
    var width = 0.0, placement = "", legend = SVGChart.Box(x: 0, y: 0, width: 0, height: 0)
    var points: [(Double, Double)] = [], bars: [SVGChart.Box] = [], legendNames: [String] = [], texts: [String: String] = [:]

    init() {}

    init(_ svg: String) throws {
        final class Reader: NSObject, XMLParserDelegate {
            var chart = Chart(), textClass: String?, text = ""
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes a: [String: String] = [:]) {
                func d(_ k: String) -> Double { Double(a[k] ?? "") ?? .nan }
                switch name {
                case "svg": chart.width = d("width")
                case "g": chart.placement = a["data-placement"] ?? chart.placement
                case "rect" where a["class"] == "legend-box": chart.legend = SVGChart.Box(x: d("x"), y: d("y"), width: d("width"), height: d("height"))
                case "rect" where a["class"] == "bar": chart.bars.append(SVGChart.Box(x: d("x"), y: d("y"), width: d("width"), height: d("height")))
                case "circle" where a["class"] == "point": chart.points.append((d("cx"), d("cy")))
                case "text": textClass = a["class"]; text = ""
                default: break
                }
            }
            func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
            func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
                guard name == "text", let c = textClass else { return }
                if c == "legend" { chart.legendNames.append(text) } else { chart.texts[c] = text }
                textClass = nil
            }
        }
        let parser = XMLParser(data: Data(svg.utf8)), reader = Reader()
        parser.delegate = reader
        guard parser.parse() else { throw NSError(domain: "svg", code: 1, userInfo: [NSLocalizedDescriptionKey: "not well-formed XML"]) }
        self = reader.chart
    }
}
