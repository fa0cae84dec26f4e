import Imaging
import Safety

/// One image on the wire (docs/wire.md, version 1): a 30-byte header, the
/// kept patch indices, and the codec's payload. All integers little-endian.
///
///     offset size  field
///          0    4  magic "SCWI"
///          4    1  format version (1)
///          5    1  codec: 0 raw, 1 jpeg (patch mosaic), 2 full-jpeg
///          6    1  JPEG quality 1-100 (0 for raw)
///          7    1  chroma: 0 (raw), 1 (4:4:4) or 2 (4:2:0)
///          8    8  image id
///         16    2  patch size in pixels
///         18    2  grid columns
///         20    2  grid rows
///         22    1  index encoding: 0 all patches, 1 bitmask, 2 list
///         23    1  reserved, 0
///         24    2  kept patches k
///         26    4  payload bytes
///         30       indices, then the payload
///
/// Indices: nothing when all P patches are kept; else a bitmask of
/// ceil(P / 8) bytes (patch i is bit i % 8 of byte i / 8) or a list of k
/// increasing indices, one byte each when P <= 256 and two otherwise,
/// whichever is shorter (the bitmask on a tie).
public struct WireImage: Sendable, Equatable {
    public static let magic: [UInt8] = Array("SCWI".utf8)
    public static let version: UInt8 = 1
    public static let headerBytes = 30

    /// How the indices are written.
    public enum IndexEncoding: UInt8, Sendable {
        case all = 0, bitmask = 1, list = 2
    }

    public let imageID: UInt64
    public let grid: PatchGrid
    public let codec: Codec
    /// The kept patches, increasing, each below `grid.count`.
    public let indices: [Int]
    /// The codec's bytes (see `PatchCoding`).
    public let payload: [UInt8]

    public init(imageID: UInt64, grid: PatchGrid, codec: Codec, indices: [Int], payload: [UInt8]) {
        precondition(zip(indices, indices.dropFirst()).allSatisfy { $0 < $1 } && (indices.first ?? 0) >= 0
                     && (indices.last ?? 0) < grid.count, "indices must increase within the grid")
        self.imageID = imageID
        self.grid = grid
        self.codec = codec
        self.indices = indices
        self.payload = payload
    }

    /// The shortest encoding of `k` kept indices among `P` patches, and its size in bytes.
    public static func indexEncoding(kept k: Int, of p: Int) -> (IndexEncoding, bytes: Int) {
        if k == p { return (.all, 0) }
        let mask = (p + 7) / 8, list = k * (p <= 256 ? 1 : 2)
        return list < mask ? (.list, list) : (.bitmask, mask)
    }

    /// Bytes this image takes on the wire: header, indices and payload.
    public var byteCount: Int { Self.headerBytes + Self.indexEncoding(kept: indices.count, of: grid.count).bytes + payload.count }

    /// The frame's bytes.
    public func encoded() -> [UInt8] {
        var out = Self.magic
        out.reserveCapacity(byteCount)
        let (codecID, chroma): (UInt8, UInt8)
        switch codec {
        case .raw: (codecID, chroma) = (0, 0)
        case .jpeg: (codecID, chroma) = (1, UInt8(Codec.mosaicChroma(patchSize: grid.patchSize)?.rawValue ?? 0))
        case .fullJPEG: (codecID, chroma) = (2, 2)
        }
        out += [Self.version, codecID, UInt8(codec.quality ?? 0), chroma]
        out.appendLittleEndian(imageID)
        out.appendLittleEndian(UInt16(grid.patchSize))
        out.appendLittleEndian(UInt16(grid.columns))
        out.appendLittleEndian(UInt16(grid.rows))
        let (encoding, _) = Self.indexEncoding(kept: indices.count, of: grid.count)
        out += [encoding.rawValue, 0]
        out.appendLittleEndian(UInt16(indices.count))
        out.appendLittleEndian(UInt32(payload.count))
        switch encoding {
        case .all: break
        case .bitmask:
            var mask = [UInt8](repeating: 0, count: (grid.count + 7) / 8)
            for i in indices { mask[i / 8] |= 1 << UInt8(i % 8) }
            out += mask
        case .list:
            for i in indices {
                if grid.count <= 256 { out.append(UInt8(i)) } else { out.appendLittleEndian(UInt16(i)) }
            }
        }
        return out + payload
    }

    /// Parses one frame that is exactly `bytes`, checking every field; the
    /// payload's content is checked when it is decoded (`PatchCoding.decode`).
    ///
    /// - Throws: `WireError` saying what is wrong: bad magic, another version,
    ///   an unknown codec, quality or index encoding, a grid over 65,535
    ///   patches or over `ImageLimits.maxPixels` pixels, indices out of range, not increasing or not matching k,
    ///   a raw payload of the wrong length, or bytes missing or left over.
    public init(decoding bytes: [UInt8]) throws(WireError) {
        var r = ByteReader(bytes)
        guard r.remaining >= Self.headerBytes else { throw WireError("truncated header: \(bytes.count) of \(Self.headerBytes) bytes") }
        guard r.take(4) == Self.magic else { throw WireError("not a semcom wire frame (bad magic)") }
        let version = r.byte()
        guard version == Self.version else { throw WireError("wire format version \(version), this build reads version \(Self.version)") }
        let codecID = r.byte(), quality = Int(r.byte()), chroma = r.byte()
        let imageID = r.u64()
        let patchSize = Int(r.u16()), columns = Int(r.u16()), rows = Int(r.u16())
        let encodingByte = r.byte(), reserved = r.byte()
        let k = Int(r.u16())
        let payloadCount = Int(r.u32())
        guard patchSize > 0, columns > 0, rows > 0 else { throw WireError("empty grid: \(columns) x \(rows) patches of \(patchSize) px") }
        let grid = PatchGrid(patchSize: patchSize, columns: columns, rows: rows)
        guard grid.count <= Int(UInt16.max) else { throw WireError("grid of \(grid.count) patches, over 65,535") }
        guard grid.width * grid.height <= ImageLimits.maxPixels else {
            throw WireError("grid of \(grid.width)x\(grid.height) pixels, over the limit of \(ImageLimits.maxPixels) pixels")
        }
        guard reserved == 0 else { throw WireError("reserved header byte is \(reserved), not 0") }
        let codec: Codec
        switch codecID {
        case 0:
            guard quality == 0, chroma == 0 else { throw WireError("raw codec with quality \(quality) and chroma \(chroma) (both must be 0)") }
            codec = .raw
        case 1:
            guard (1...100).contains(quality) else { throw WireError("JPEG quality \(quality) outside 1-100") }
            guard let expected = Codec.mosaicChroma(patchSize: patchSize) else { throw WireError("jpeg codec with \(patchSize) px patches (a multiple of 8 is needed)") }
            guard chroma == expected.rawValue else { throw WireError("jpeg codec with chroma \(chroma), \(expected.rawValue) expected for \(patchSize) px patches") }
            codec = .jpeg(quality: quality)
        case 2:
            guard (1...100).contains(quality) else { throw WireError("JPEG quality \(quality) outside 1-100") }
            guard chroma == 2 else { throw WireError("full-jpeg codec with chroma \(chroma), 2 expected") }
            codec = .fullJPEG(quality: quality)
        default:
            throw WireError("unknown codec \(codecID)")
        }
        guard k <= grid.count else { throw WireError("\(k) kept patches of \(grid.count)") }
        guard let encoding = IndexEncoding(rawValue: encodingByte) else { throw WireError("unknown index encoding \(encodingByte)") }
        let (expected, indexBytes) = Self.indexEncoding(kept: k, of: grid.count)
        guard encoding == expected else { throw WireError("index encoding \(encoding) for \(k) of \(grid.count) patches, \(expected) expected") }
        if case .fullJPEG = codec, encoding != .all { throw WireError("full-jpeg frame that does not keep every patch") }
        guard r.remaining == indexBytes + payloadCount else {
            throw WireError("\(r.remaining) bytes after the header, \(indexBytes + payloadCount) declared (\(indexBytes) of indices, \(payloadCount) of payload)")
        }
        var indices: [Int] = []
        indices.reserveCapacity(k)
        switch encoding {
        case .all: indices = Array(0..<grid.count)
        case .bitmask:
            let mask = r.take(indexBytes)
            for i in 0..<grid.count where mask[i / 8] & (1 << UInt8(i % 8)) != 0 { indices.append(i) }
            let spare = mask.count * 8 - grid.count
            guard spare == 0 || mask[mask.count - 1] >> UInt8(8 - spare) == 0 else { throw WireError("bitmask sets bits past the last patch") }
            guard indices.count == k else { throw WireError("bitmask holds \(indices.count) patches, the header says \(k)") }
        case .list:
            for _ in 0..<k { indices.append(grid.count <= 256 ? Int(r.byte()) : Int(r.u16())) }
            for (a, b) in zip(indices, indices.dropFirst()) where a >= b { throw WireError("index list not increasing (\(a) then \(b))") }
            if let last = indices.last, last >= grid.count { throw WireError("patch index \(last) out of range (\(grid.count) patches)") }
        }
        if case .raw = codec, payloadCount != k * grid.patchBytes {
            throw WireError("raw payload of \(payloadCount) bytes, \(k) patches need \(k * grid.patchBytes)")
        }
        self.init(imageID: imageID, grid: grid, codec: codec, indices: indices, payload: r.take(payloadCount))
    }
}

/// What is wrong with a wire frame, in one line.
public struct WireError: KindedError, Sendable, Equatable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var kind: ErrorKind { .corrupt }
    public var description: String { reason }
}

extension [UInt8] {
    /// Appends `value`'s bytes, least significant first.
    public mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}

/// Reads little-endian fields from a byte array (wire frames, link frames);
/// the caller checks `remaining` first.
public struct ByteReader {
    private let bytes: [UInt8]
    private var at = 0
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var remaining: Int { bytes.count - at }
    public mutating func take(_ n: Int) -> [UInt8] { defer { at += n }; return Array(bytes[at..<at + n]) }
    public mutating func byte() -> UInt8 { defer { at += 1 }; return bytes[at] }
    public mutating func u16() -> UInt16 { UInt16(byte()) | UInt16(byte()) << 8 }
    public mutating func u32() -> UInt32 { UInt32(u16()) | UInt32(u16()) << 16 }
    public mutating func u64() -> UInt64 { UInt64(u32()) | UInt64(u32()) << 32 }
}
