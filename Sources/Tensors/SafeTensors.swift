import Foundation
import Safety

/// A `.safetensors` file: an 8-byte little-endian header length, a JSON
/// header mapping tensor names to dtype, shape and byte range, then the
/// raw little-endian data. F32, F16 and BF16 tensors are read as Float32.
public struct SafeTensors: Sendable {
    /// One tensor's entry in the header.
    public struct Entry: Sendable {
        public let dtype: String
        public let shape: [Int]
        /// Byte range inside the data section.
        public let range: Range<Int>
    }

    /// What can be wrong with a weights file, in one line naming it.
    public struct FormatError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    public let path: String
    public let entries: [String: Entry]
    /// The `__metadata__` strings, if any.
    public let metadata: [String: String]
    private let data: Data
    private let dataStart: Int

    /// Tensor names in sorted order.
    public var names: [String] { entries.keys.sorted() }

    /// Opens and validates a file: header length and JSON, every entry's
    /// dtype, shape and byte range against the file size.
    public init(path: String) throws {
        func fail(_ r: String) -> FormatError { FormatError(path: path, reason: r) }
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else {
            throw fail("cannot read file")
        }
        guard data.count >= 8 else { throw fail("truncated: \(data.count) bytes, shorter than the 8-byte header length") }
        let n = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard n <= UInt64(data.count - 8) else {
            throw fail("truncated or not safetensors: header length \(n) at byte 0 exceeds the file size \(data.count)")
        }
        let headerEnd = 8 + Int(n)
        guard let json = try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<headerEnd)),
              let header = json as? [String: Any] else {
            throw fail("corrupt header: bytes 8..<\(headerEnd) are not a JSON object")
        }
        let dataBytes = data.count - headerEnd
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                for (k, v) in value as? [String: Any] ?? [:] { metadata[k] = "\(v)" }
                continue
            }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = (info["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                  let offsets = (info["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                  offsets.count == 2 else {
                throw fail("corrupt header entry for tensor '\(name)'")
            }
            guard let size = Self.elementSize[dtype] else {
                throw fail("tensor '\(name)' has dtype \(dtype); supported: F32, F16, BF16")
            }
            let expected = shape.reduce(1, *) * size
            guard offsets[0] >= 0, offsets[1] - offsets[0] == expected else {
                throw fail("tensor '\(name)' of shape \(shape) \(dtype) needs \(expected) bytes, header gives \(offsets[0])..<\(offsets[1])")
            }
            guard offsets[1] <= dataBytes else {
                throw fail("truncated: tensor '\(name)' ends at byte \(headerEnd + offsets[1]), file has \(data.count)")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, range: offsets[0]..<offsets[1])
        }
        self.path = path
        self.entries = entries
        self.metadata = metadata
        self.data = data
        self.dataStart = headerEnd
    }

    private static let elementSize = ["F32": 4, "F16": 2, "BF16": 2]

    /// The named tensor converted to Float32, or nil when absent.
    public func tensor(_ name: String) -> Tensor? {
        guard let e = entries[name] else { return nil }
        let count = e.shape.reduce(1, *)
        var out = [Float](repeating: 0, count: count)
        data.withUnsafeBytes { raw in
            let p = raw.baseAddress! + dataStart + e.range.lowerBound
            switch e.dtype {
            case "F32": for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            case "F16": for i in 0..<count { out[i] = halfToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            default: for i in 0..<count { out[i] = bfloat16ToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            }
        }
        return Tensor(shape: e.shape, scalars: out)
    }

    /// Writes F32 tensors as a `.safetensors` file (names sorted, data in that order),
    /// atomically (`AtomicWrite`: whole or not at all).
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var body = Data()
        for name in tensors.keys.sorted() {
            let t = tensors[name]!
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [body.count, body.count + 4 * t.count]] as [String: Any]
            t.scalars.withUnsafeBytes { body.append(contentsOf: $0) }
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(body)
        try AtomicWrite.write(out, to: path)
    }
}
