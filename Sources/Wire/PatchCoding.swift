import Imaging

/// The codecs' payloads: from an edge's crop and kept indices to a `WireImage`,
/// and back to the kept patches' pixels.
public enum PatchCoding {
    /// Samples of patch `index` of `image` (side `grid.patchSize`), rows top to bottom, RGB interleaved.
    public static func patch(_ index: Int, of image: RGBImage, grid: PatchGrid) -> ArraySlice<UInt8> {
        var out = [UInt8]()
        out.reserveCapacity(grid.patchBytes)
        let s = grid.patchSize, x0 = (index % grid.columns) * s, y0 = (index / grid.columns) * s
        image.pixels.withUnsafeBufferPointer { p in
            for y in y0..<y0 + s {
                let start = (y * image.width + x0) * 3
                out.append(contentsOf: p[start..<start + s * 3])
            }
        }
        return out[...]
    }

    /// The mosaic of `k` > 0 patches: min(k, grid.columns) patches wide, patch j
    /// in mosaic column j % width, row j / width; slots past the last patch
    /// are mid-grey (128). No patches are sent as an empty payload.
    static func mosaicSize(kept k: Int, grid: PatchGrid) -> (columns: Int, rows: Int) {
        let columns = max(1, min(k, grid.columns))
        return (columns, max(1, (k + columns - 1) / columns))
    }

    /// Codes the patches `indices` (increasing) of `crop` (grid.width x
    /// grid.height) with `codec`. For `fullJPEG` every patch is sent and
    /// `indices` must be all of them.
    ///
    /// - Throws: `WireCodingError` when the crop is not the grid's size, the
    ///   indices do not increase within the grid, the codec cannot code this
    ///   grid (a jpeg mosaic of patches that are not whole 8 x 8 blocks), or
    ///   libjpeg fails.
    public static func encode(_ crop: RGBImage, grid: PatchGrid, indices: [Int], codec: Codec, imageID: UInt64) throws -> WireImage {
        guard crop.width == grid.width && crop.height == grid.height else {
            throw WireCodingError("a \(crop.width)x\(crop.height) crop for a grid of \(grid.width)x\(grid.height) pixels")
        }
        guard zip(indices, indices.dropFirst()).allSatisfy({ $0 < $1 }), (indices.first ?? 0) >= 0, (indices.last ?? 0) < grid.count else {
            throw WireCodingError("patch indices must increase within 0..<\(grid.count)")
        }
        let payload: [UInt8]
        switch codec {
        case .raw:
            payload = indices.flatMap { patch($0, of: crop, grid: grid) }
        case .jpeg(let quality):
            guard let chroma = Codec.mosaicChroma(patchSize: grid.patchSize) else {
                throw WireCodingError("the jpeg codec needs patches whose side is a multiple of 8, not \(grid.patchSize) px")
            }
            payload = indices.isEmpty ? [] : try mosaic(of: crop, grid: grid, indices: indices).jpegData(quality: quality, chroma: chroma, name: "patch mosaic")
        case .fullJPEG(let quality):
            guard indices.count == grid.count else { throw WireCodingError("full-jpeg sends every patch, not \(indices.count) of \(grid.count)") }
            payload = try crop.jpegData(quality: quality, chroma: .half, name: "crop")
        }
        return WireImage(imageID: imageID, grid: grid, codec: codec, indices: indices, payload: payload)
    }

    /// The mosaic image of `indices`' patches (see `mosaicSize`).
    public static func mosaic(of crop: RGBImage, grid: PatchGrid, indices: [Int]) -> RGBImage {
        let (columns, rows) = mosaicSize(kept: indices.count, grid: grid)
        let s = grid.patchSize
        var pixels = [UInt8](repeating: 128, count: columns * rows * s * s * 3)
        for (j, i) in indices.enumerated() {
            place(patch(i, of: crop, grid: grid), side: s, into: &pixels, width: columns * s, x: (j % columns) * s, y: (j / columns) * s)
        }
        return RGBImage(width: columns * s, height: rows * s, pixels: pixels)
    }

    /// The kept patches' decoded samples, `frame.indices.count` x
    /// `grid.patchBytes`, in the order of `frame.indices`.
    ///
    /// - Throws: `WireCodingError` when the payload is not what the header
    ///   says: a JPEG that does not decode, or decodes to another size.
    public static func decode(_ frame: WireImage) throws -> [UInt8] {
        let grid = frame.grid
        switch frame.codec {
        case .raw:
            return frame.payload
        case .jpeg:
            if frame.indices.isEmpty {
                guard frame.payload.isEmpty else { throw WireCodingError("a payload of \(frame.payload.count) bytes for no patches") }
                return []
            }
            let (columns, rows) = mosaicSize(kept: frame.indices.count, grid: grid)
            let image = try decodeJPEG(frame.payload, blockwise: true, width: columns * grid.patchSize, height: rows * grid.patchSize)
            let mosaicGrid = PatchGrid(patchSize: grid.patchSize, columns: columns, rows: rows)
            return frame.indices.indices.flatMap { patch($0, of: image, grid: mosaicGrid) }
        case .fullJPEG:
            let image = try decodeJPEG(frame.payload, blockwise: false, width: grid.width, height: grid.height)
            return frame.indices.flatMap { patch($0, of: image, grid: grid) }
        }
    }

    /// The crop as the receiver sees it: kept patches decoded in place, the
    /// others zero (`grid.width` x `grid.height`).
    public static func receivedCrop(_ frame: WireImage) throws -> RGBImage {
        let patches = try decode(frame)
        let grid = frame.grid, s = grid.patchSize
        var pixels = [UInt8](repeating: 0, count: grid.width * grid.height * 3)
        for (j, i) in frame.indices.enumerated() {
            place(patches[j * grid.patchBytes..<(j + 1) * grid.patchBytes], side: s, into: &pixels, width: grid.width,
                  x: (i % grid.columns) * s, y: (i / grid.columns) * s)
        }
        return RGBImage(width: grid.width, height: grid.height, pixels: pixels)
    }

    /// The crop as a receiver decodes its patches under `codec`: raw, the crop
    /// itself; jpeg:Q, every patch coded alone and decoded block-wise. A
    /// mosaic patch decodes as it does alone (docs/wire.md), so the first k
    /// patches of this image are what the server receives for any selection
    /// of k: one degraded crop per image and quality serves every k.
    public static func patchwiseDecoded(_ crop: RGBImage, grid: PatchGrid, codec: Codec) throws -> RGBImage {
        switch codec {
        case .raw:
            return crop
        case .jpeg:
            let all = Array(0..<grid.count)
            var pixels = [UInt8](repeating: 0, count: grid.width * grid.height * 3)
            for i in all {
                let alone = try decode(encode(crop, grid: grid, indices: [i], codec: codec, imageID: 0))
                place(alone[...], side: grid.patchSize, into: &pixels, width: grid.width,
                      x: (i % grid.columns) * grid.patchSize, y: (i / grid.columns) * grid.patchSize)
            }
            return RGBImage(width: grid.width, height: grid.height, pixels: pixels)
        case .fullJPEG:
            throw WireCodingError("full-jpeg sends the whole crop, not patches")
        }
    }

    /// Copies a `side` x `side` patch (rows top to bottom, RGB) into an image
    /// `width` pixels wide held in `pixels`, at column `x`, row `y`.
    private static func place(_ patch: ArraySlice<UInt8>, side: Int, into pixels: inout [UInt8], width: Int, x: Int, y: Int) {
        var at = patch.startIndex
        for row in y..<y + side {
            let start = (row * width + x) * 3
            pixels[start..<start + side * 3] = patch[at..<at + side * 3]
            at += side * 3
        }
    }

    private static func decodeJPEG(_ bytes: [UInt8], blockwise: Bool, width: Int, height: Int) throws -> RGBImage {
        let image: RGBImage
        do {
            image = blockwise ? try RGBImage(decodingJPEGBlockwise: bytes, file: "payload", maxPixels: width * height)
                              : try RGBImage(decoding: bytes, file: "payload")
        } catch {
            throw WireCodingError("\(error)")
        }
        guard image.width == width, image.height == height else {
            throw WireCodingError("payload JPEG of \(image.width)x\(image.height) pixels, \(width)x\(height) expected")
        }
        return image
    }
}

/// A payload that cannot be coded or decoded, in one line.
public struct WireCodingError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
