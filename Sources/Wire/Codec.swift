import Imaging

/// How the kept patches of an image travel: the wire format's payload (docs/wire.md).
public enum Codec: Sendable, Hashable, CustomStringConvertible {
    /// The 8-bit RGB samples of each kept patch, exactly as the edge's crop holds them.
    case raw
    /// The kept patches laid out as a mosaic and coded as one JPEG at `quality`
    /// (1-100). Chroma is 4:2:0 when the patch side is a multiple of 16, else
    /// 4:4:4 (side a multiple of 8), so every patch is whole MCUs and decodes
    /// independently of its neighbours in the mosaic.
    case jpeg(quality: Int)
    /// The whole crop as one JPEG at `quality`, 4:2:0: the ordinary system's baseline.
    case fullJPEG(quality: Int)

    /// The name as options spell it: `raw`, `jpeg:Q`, `full-jpeg:Q`.
    public var description: String {
        switch self {
        case .raw: return "raw"
        case .jpeg(let q): return "jpeg:\(q)"
        case .fullJPEG(let q): return "full-jpeg:\(q)"
        }
    }

    /// Whether the codec sends the whole crop (full-jpeg), not selected patches.
    public var isWholeImage: Bool {
        if case .fullJPEG = self { return true }
        return false
    }

    /// The JPEG quality, or nil for `raw`.
    public var quality: Int? {
        switch self {
        case .raw: return nil
        case .jpeg(let q), .fullJPEG(let q): return q
        }
    }

    /// Parses `raw`, `jpeg:Q` or `full-jpeg:Q` (Q an integer 1-100); nil otherwise.
    public init?(parsing text: String) {
        if text == "raw" { self = .raw; return }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let q = Int(parts[1]), (1...100).contains(q) else { return nil }
        switch parts[0] {
        case "jpeg": self = .jpeg(quality: q)
        case "full-jpeg": self = .fullJPEG(quality: q)
        default: return nil
        }
    }

    /// What `init(parsing:)` accepts, for error messages.
    public static let syntax = "raw, jpeg:Q or full-jpeg:Q with Q an integer 1-100"

    /// The chroma sampling of a patch mosaic for patches of side `patchSize`:
    /// 4:2:0 when it is a multiple of 16, 4:4:4 when a multiple of 8, nil when
    /// patches are not whole 8 x 8 blocks (no mosaic codes them independently).
    public static func mosaicChroma(patchSize: Int) -> ChromaSampling? {
        patchSize % 16 == 0 ? .half : patchSize % 8 == 0 ? .full : nil
    }
}
