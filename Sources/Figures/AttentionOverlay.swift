import Imaging

/// The attention overlay of Figs. 4-6: left, the network's crop with the
/// patch scores as a heat map over it; right, the crop with the kept
/// patches in colour and the rest greyed out; below them, when there is a
/// caption, a band with its lines and a colour bar of the heat map's scale.
/// Panels Z x Z pixels, where Z = S times the smallest integer factor that
/// brings the crop to at least 224 px (pixel replication: 64 px crops to 256).
public enum AttentionOverlay {
    /// - Parameters:
    ///   - crop: the S x S crop the model saw.
    ///   - scores: P = G x G patch scores (row-major grid).
    ///   - kept: indices of the kept patches.
    ///   - caption: lines for the band under the panels (none: no band).
    /// - Returns: 2Z x Z pixels, or 2Z x (Z + band) with a caption (`CaptionBand`).
    public static func render(crop: RGBImage, scores: [Float], kept: Set<Int>, caption: [String] = []) -> RGBImage {
        let s = crop.width, grid = Int(Double(scores.count).squareRoot().rounded())
        precondition(crop.height == s && grid * grid == scores.count, "overlay needs a square crop and a square patch grid")
        let patch = s / grid, zoom = zoom(crop: s), z = s * zoom
        let band = caption.isEmpty ? nil : CaptionBand(lines: caption, width: 2 * z, top: z)
        let height = z + (band?.height ?? 0)
        let top = scores.max() ?? 1
        var out = [UInt8](repeating: 255, count: 2 * z * height * 3)
        for oy in 0..<z {
            for ox in 0..<z {
                let (x, y) = (ox / zoom, oy / zoom)
                let cell = min(grid - 1, y / patch) * grid + min(grid - 1, x / patch)
                let heat = top > 0 ? Double(scores[cell] / top) : 0
                let (hr, hg, hb) = colormap(heat)
                let src = (y * s + x) * 3
                let r = Double(crop.pixels[src]), g = Double(crop.pixels[src + 1]), b = Double(crop.pixels[src + 2])
                let left = (oy * 2 * z + ox) * 3, right = left + z * 3
                out[left] = UInt8(0.45 * r + 0.55 * hr)
                out[left + 1] = UInt8(0.45 * g + 0.55 * hg)
                out[left + 2] = UInt8(0.45 * b + 0.55 * hb)
                if kept.contains(cell) {
                    out[right] = UInt8(r); out[right + 1] = UInt8(g); out[right + 2] = UInt8(b)
                } else {
                    let grey = UInt8(0.3 * (0.299 * r + 0.587 * g + 0.114 * b) + 140)
                    out[right] = grey; out[right + 1] = grey; out[right + 2] = grey
                }
            }
        }
        band?.draw(into: &out, imageHeight: height)
        return RGBImage(width: 2 * z, height: height, pixels: out)
    }

    /// The pixel replication factor for an S px crop: the smallest that reaches 224 px.
    static func zoom(crop s: Int) -> Int { max(1, (224 + s - 1) / s) }

    /// The heat colour of t in [0, 1]: blue (0) through white (0.5) to red (1), each channel 0-255.
    static func colormap(_ t: Double) -> (Double, Double, Double) {
        let t = max(0, min(1, t))
        return (255 * min(1, 2 * t), 255 * (1 - abs(2 * t - 1)), 255 * min(1, 2 * (1 - t)))
    }
}

/// The caption band under the overlay's panels, `width` px wide from row
/// `top`: the lines in `BitmapFont` (black on white, 8 px margins), at the
/// largest scale up to 3 at which the longest fits, then the colour bar of
/// the heat map (score / the image's highest score, 0 to 1) between the
/// labels `0` and `max`.
struct CaptionBand {
    let lines: [String]
    let width, top: Int
    /// Pixels per font pixel.
    let scale: Int
    static let margin = 8
    static let ink: (UInt8, UInt8, UInt8) = (20, 20, 20)

    init(lines: [String], width: Int, top: Int) {
        self.lines = lines
        self.width = width
        self.top = top
        let longest = (lines + ["0 " + String(repeating: " ", count: 12) + " max"]).map { BitmapFont.width(of: $0, scale: 1) }.max() ?? 1
        scale = max(1, min(3, (width - 2 * Self.margin) / max(1, longest)))
    }

    /// One text line's height: the glyph and two blank font rows.
    var lineHeight: Int { (BitmapFont.glyphHeight + 2) * scale }
    /// Row of line `i`'s top.
    func lineTop(_ i: Int) -> Int { top + Self.margin + i * lineHeight }
    /// The colour bar: left to right colormap(0) to colormap(1), as tall as a glyph.
    var bar: (x: Int, y: Int, width: Int, height: Int) {
        let x = Self.margin + BitmapFont.width(of: "0 ", scale: scale)
        return (x, lineTop(lines.count) + scale, width - x - Self.margin - BitmapFont.width(of: " max", scale: scale), BitmapFont.glyphHeight * scale)
    }
    /// The band's height in rows.
    var height: Int { lineTop(lines.count) - top + lineHeight + Self.margin }

    /// The colour of the bar's column `i` (0 ..< bar.width).
    func barColor(_ i: Int) -> (UInt8, UInt8, UInt8) {
        let (r, g, b) = AttentionOverlay.colormap(Double(i) / Double(max(1, bar.width - 1)))
        return (UInt8(r), UInt8(g), UInt8(b))
    }

    /// Draws the band into `pixels` (`imageHeight` x `width` x 3, white below the panels).
    func draw(into pixels: inout [UInt8], imageHeight: Int) {
        for (i, line) in lines.enumerated() {
            BitmapFont.draw(line, x: Self.margin, y: lineTop(i) + scale, scale: scale, color: Self.ink, into: &pixels, width: width, height: imageHeight)
        }
        let b = bar, labelY = b.y
        BitmapFont.draw("0", x: Self.margin, y: labelY, scale: scale, color: Self.ink, into: &pixels, width: width, height: imageHeight)
        BitmapFont.draw("max", x: b.x + b.width + BitmapFont.advance * scale, y: labelY, scale: scale, color: Self.ink,
                        into: &pixels, width: width, height: imageHeight)
        for i in 0..<max(0, b.width) {
            let c = barColor(i)
            for y in b.y..<(b.y + b.height) {
                let p = (y * width + b.x + i) * 3
                pixels[p] = c.0; pixels[p + 1] = c.1; pixels[p + 2] = c.2
            }
        }
    }
}
