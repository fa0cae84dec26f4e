import Imaging

/// The attention overlay of Figs. 4-6: left, the network's crop with the
/// patch scores as a heat map over it; right, the crop with the kept
/// patches in colour and the rest greyed out. Output 2Z x Z pixels, where
/// Z = S times the integer factor that brings small crops (64 px) to at least
/// 224 px, by pixel replication.
public enum AttentionOverlay {
    /// - Parameters:
    ///   - crop: the S x S crop the model saw.
    ///   - scores: P = G x G patch scores (row-major grid).
    ///   - kept: indices of the kept patches.
    public static func render(crop: RGBImage, scores: [Float], kept: Set<Int>) -> RGBImage {
        let s = crop.width, grid = Int(Double(scores.count).squareRoot().rounded())
        precondition(crop.height == s && grid * grid == scores.count, "overlay needs a square crop and a square patch grid")
        let patch = s / grid, zoom = max(1, 224 / s), z = s * zoom
        let top = scores.max() ?? 1
        var out = [UInt8](repeating: 0, count: 2 * z * z * 3)
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
        return RGBImage(width: 2 * z, height: z, pixels: out)
    }

    /// A blue-to-red heat colour for t in [0, 1].
    static func colormap(_ t: Double) -> (Double, Double, Double) {
        let t = max(0, min(1, t))
        return (255 * min(1, 2 * t), 255 * (1 - abs(2 * t - 1)), 255 * min(1, 2 * (1 - t)))
    }
}
