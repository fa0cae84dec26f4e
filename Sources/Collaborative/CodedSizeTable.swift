import HDF5IO
import Safety
import Wire

/// A codec's coded sizes as a cache records them (`cache build --codec`):
/// what counts a frame's bytes for every image and selection.
public struct CodedSizeTable: Sendable {
    public let codec: Codec
    /// The patch grid the crops were cut into.
    public let grid: PatchGrid
    /// Rows recorded: 0..<completed.
    public let completed: Int
    /// jpeg:Q: each patch's bytes coded alone, N x P, and the mosaic of all
    /// patches' bytes, N (`CodedSizes.JPEGPatchBytes`); the fixed overhead.
    let alone: [Int32], all: [Int32], overhead: Int
    /// full-jpeg:Q: the whole crop's JPEG bytes, N.
    let image: [Int32]

    /// Reads `codec`'s table; a cache without it is an error naming the codecs
    /// it has. Raw frames are counted exactly and have none.
    init(_ codec: Codec, in cache: Cache) throws {
        guard codec != .raw else {
            throw CacheError(cache.path, "raw frames are counted exactly (CodedSizes.frameBytes); no sizes are recorded for them", kind: .badValue)
        }
        let f = cache.file
        let recorded = try CacheLayout.codecNames(in: f)
        guard recorded.contains(codec) else {
            throw CacheError(cache.path, "no coded sizes for \(codec) (recorded: \(recorded.isEmpty ? "none" : recorded.map(\.description).joined(separator: ", "))); add them with semcom cache build --codec \(codec) and the same models", kind: .notFound)
        }
        self.codec = codec
        guard let grid = try CacheLayout.codecGrid(codec, in: f) else { throw CacheError(cache.path, "codec \(codec): an empty patch grid", kind: .corrupt) }
        self.grid = grid
        let n = cache.images.count
        completed = min(n, max(0, try CacheLayout.completedRows(codec: codec, in: f)))
        let g = try f.openGroup(CacheLayout.codec(codec))
        if codec.isWholeImage {
            image = try g.openDataset(CacheLayout.imageBytes).read(as: Int32.self).values
            (alone, all, overhead) = ([], [], 0)
            guard image.count == n else { throw CacheError(cache.path, "codec \(codec): \(image.count) image sizes for \(n) images", kind: .corrupt) }
        } else {
            alone = try g.openDataset(CacheLayout.patchBytes).read(as: Int32.self).values
            all = try g.openDataset(CacheLayout.mosaicBytes).read(as: Int32.self).values
            overhead = Int(try g.attribute("overhead", as: Int64.self))
            image = []
            guard alone.count == n * grid.count, all.count == n else {
                throw CacheError(cache.path, "codec \(codec): \(alone.count) patch sizes and \(all.count) mosaic sizes for \(n) images of \(grid.count) patches", kind: .corrupt)
            }
        }
    }

    /// jpeg:Q: bytes of the frame sending every patch of image `row` (the
    /// mosaic of all patches, measured, not estimated).
    public func allPatchesFrameBytes(row: Int) -> Int {
        CodedSizes.frameBytes(kept: grid.count, of: grid, payload: Int(all[row]))
    }

    /// jpeg:Q: image `row`'s measurements.
    public func jpegPatchBytes(row: Int) -> CodedSizes.JPEGPatchBytes {
        let p = grid.count
        return CodedSizes.JPEGPatchBytes(alone: alone[(row * p)..<((row + 1) * p)].map(Int.init), all: Int(all[row]), overhead: overhead)
    }

    /// full-jpeg:Q: the bytes of image `row`'s whole frame (header and the crop's JPEG).
    public func fullFrameBytes(row: Int) -> Int { CodedSizes.frameBytes(kept: grid.count, of: grid, payload: Int(image[row])) }

    /// The bytes of image `row`'s frame keeping its first k patches of `order`
    /// (patch indices, best first), for k = 0...P: jpeg:Q estimated
    /// (`CodedSizes.JPEGPatchBytes.estimate`), full-jpeg:Q the whole crop's.
    public func frameBytesByK(row: Int, order: ArraySlice<Int32>) -> [Int] {
        if codec.isWholeImage { return Array(repeating: fullFrameBytes(row: row), count: grid.count + 1) }
        return jpegPatchBytes(row: row).prefixEstimates(order).enumerated().map { CodedSizes.frameBytes(kept: $0, of: grid, payload: $1) }
    }
}

extension Cache {
    /// The coded sizes of `codec` (jpeg:Q or full-jpeg:Q; raw frames are counted exactly).
    public func codedSizes(_ codec: Codec) throws -> CodedSizeTable { try CodedSizeTable(codec, in: self) }

    /// The codecs whose sizes the cache records.
    public func codecs() throws -> [Codec] { try CacheLayout.codecNames(in: file) }
}
