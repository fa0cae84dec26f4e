import Imaging

/// Bytes a frame takes on the wire, from per-patch measurements instead of
/// an encode: what a cache stores so that sweeps can count bytes.
public enum CodedSizes {
    /// What a cache stores per image and JPEG quality to estimate the bytes
    /// of any patch mosaic without encoding it.
    public struct JPEGPatchBytes: Sendable, Equatable {
        /// Entropy-coded bytes of each patch coded alone as a one-patch
        /// mosaic (P values, patch order).
        public var alone: [Int]
        /// Bytes of the JPEG of the mosaic of all P patches (the crop itself
        /// coded with the mosaic's chroma).
        public var all: Int
        /// Bytes of everything but the entropy-coded data in a mosaic's JPEG
        /// (markers, tables, headers): the same for every mosaic of a quality and chroma.
        public var overhead: Int

        /// The estimated bytes of the JPEG of the mosaic of `indices`' patches:
        /// `overhead + sum over the kept patches of (alone[i] - c)`, where
        /// c = (overhead + sum(alone) - all) / P is this image's mean excess of
        /// a patch coded alone over the same patch coded among others. A patch
        /// coded alone pays for its first DC coefficients against zero and for
        /// padding its scan to a byte; in a mosaic they are coded against the
        /// block before and padded once. The estimate is exact for all P
        /// patches and for one patch within c; between, its error is measured
        /// (README, "Live edge and server"). No patches: an empty payload.
        public func estimate(_ indices: [Int]) -> Int {
            guard !indices.isEmpty else { return 0 }
            return overhead + Int((Double(indices.reduce(0) { $0 + alone[$1] }) - excess * Double(indices.count)).rounded())
        }

        /// `estimate` of every prefix of `order` (patch indices), k = 0...order.count, in O(P).
        public func prefixEstimates<Order: Collection>(_ order: Order) -> [Int] where Order.Element: BinaryInteger {
            var out = [0]
            out.reserveCapacity(order.count + 1)
            var sum = 0
            let excess = self.excess
            for (j, i) in order.enumerated() {
                sum += alone[Int(i)]
                out.append(overhead + Int((Double(sum) - excess * Double(j + 1)).rounded()))
            }
            return out
        }

        /// This image's mean excess of a patch coded alone, in bytes.
        var excess: Double { Double(overhead + alone.reduce(0, +) - all) / Double(alone.count) }

        public init(alone: [Int], all: Int, overhead: Int) {
            self.alone = alone
            self.all = all
            self.overhead = overhead
        }
    }

    /// Measures `JPEGPatchBytes` for `crop` under `jpeg:quality` (P + 1 encodes).
    public static func jpegPatchBytes(of crop: RGBImage, grid: PatchGrid, quality: Int) throws -> JPEGPatchBytes {
        guard let chroma = Codec.mosaicChroma(patchSize: grid.patchSize) else {
            throw WireCodingError("the jpeg codec needs patches whose side is a multiple of 8, not \(grid.patchSize) px")
        }
        var sizes: [Int] = []
        sizes.reserveCapacity(grid.count)
        var overhead = 0
        for i in 0..<grid.count {
            let alone = RGBImage(width: grid.patchSize, height: grid.patchSize, pixels: Array(PatchCoding.patch(i, of: crop, grid: grid)))
            let jpeg = try alone.jpegData(quality: quality, chroma: chroma, name: "patch")
            let scan = try scanBytes(jpeg)
            sizes.append(scan)
            overhead = jpeg.count - scan
        }
        let all = try PatchCoding.mosaic(of: crop, grid: grid, indices: Array(0..<grid.count)).jpegData(quality: quality, chroma: chroma, name: "mosaic").count
        return JPEGPatchBytes(alone: sizes, all: all, overhead: overhead)
    }

    /// What a cache records of one image for one codec: nothing for raw
    /// (counted exactly), `JPEGPatchBytes` for jpeg:Q, the whole crop's JPEG
    /// bytes for full-jpeg:Q.
    public enum Record: Sendable, Equatable {
        case none
        case jpeg(JPEGPatchBytes)
        case fullJPEG(bytes: Int)
    }

    /// Measures `crop` under `codec` (for jpeg:Q P + 1 encodes, for full-jpeg:Q one).
    public static func record(_ crop: RGBImage, grid: PatchGrid, codec: Codec) throws -> Record {
        switch codec {
        case .raw: return .none
        case .jpeg(let quality): return .jpeg(try jpegPatchBytes(of: crop, grid: grid, quality: quality))
        case .fullJPEG(let quality): return .fullJPEG(bytes: try crop.jpegData(quality: quality, chroma: .half, name: "crop").count)
        }
    }

    /// Bytes of a whole frame (header, indices, payload) with a payload of `payload` bytes.
    public static func frameBytes(kept k: Int, of grid: PatchGrid, payload: Int) -> Int {
        WireImage.headerBytes + WireImage.indexEncoding(kept: k, of: grid.count).bytes + payload
    }

    /// Length of the entropy-coded data of a single-scan baseline JPEG: the
    /// bytes between the start-of-scan header and the end-of-image marker.
    static func scanBytes(_ jpeg: [UInt8]) throws -> Int {
        var at = 2  // after SOI
        while at + 4 <= jpeg.count {
            guard jpeg[at] == 0xFF else { break }
            let marker = jpeg[at + 1]
            let length = Int(jpeg[at + 2]) << 8 | Int(jpeg[at + 3])
            if marker == 0xDA {
                let start = at + 2 + length
                guard jpeg.count >= start + 2, jpeg[jpeg.count - 2] == 0xFF, jpeg[jpeg.count - 1] == 0xD9 else { break }
                return jpeg.count - 2 - start
            }
            at += 2 + length
        }
        throw WireCodingError("not a single-scan baseline JPEG")
    }
}
