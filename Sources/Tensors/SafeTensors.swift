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

    public let path: String
    public let entries: [String: Entry]
    /// The `__metadata__` strings, if any.
    public let metadata: [String: String]
    private let data: Data
    private let dataStart: Int

    /// Tensor names in sorted order.
    public var names: [String] { entries.keys.sorted() }

    /// Opens and validates a file, refusing it with one line naming the
    /// file and the fault. Checked, before any tensor is read: the file is a
    /// regular file; the header length (at most 100 MB) lies inside it; the
    /// header is a JSON object whose `__metadata__` maps strings to strings
    /// and whose every other entry has a supported `dtype`, a `shape` of
    /// non-negative integers whose element and byte counts fit in `Int`, and
    /// `data_offsets` [begin, end] with begin a multiple of the element size,
    /// end - begin the shape's byte count, and end inside the payload; no two
    /// tensors' data ranges overlap.
    public init(path: String) throws {
        func fail(_ r: String) -> TensorFileError { TensorFileError(path: path, reason: r) }
        let data: Data
        do { data = try mapRegularFile(path) } catch let e as FileCheckError { throw TensorFileError(path: path, e) }
        guard data.count >= 8 else { throw fail("truncated: \(data.count) bytes, shorter than the 8-byte header length") }
        let n = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard n <= UInt64(data.count - 8) else {
            throw fail("truncated or not safetensors: header length \(n) at byte 0 exceeds the file size \(data.count)")
        }
        guard n <= Self.maxHeaderBytes else {
            throw fail("header length \(n) at byte 0 exceeds the limit of \(Self.maxHeaderBytes) bytes")
        }
        let headerEnd = 8 + Int(n)
        guard let header = try? JSONDecoder().decode(Header.self, from: data.subdata(in: 8..<headerEnd)) else {
            throw fail("corrupt header: bytes 8..<\(headerEnd) are not a JSON object")
        }
        if let problem = header.metadataProblem { throw fail("header field '__metadata__' \(problem)") }
        let payload = data.count - headerEnd
        var entries: [String: Entry] = [:]
        for (name, raw) in header.entries.sorted(by: { $0.key < $1.key }) {
            let e: RawEntry
            switch raw {
            case .success(let value): e = value
            case .failure(let error): throw fail("tensor '\(name)': \(error)")
            }
            guard let size = Self.elementSize[e.dtype] else {
                throw fail("tensor '\(name)' has dtype \(e.dtype); supported: F32, F16, BF16")
            }
            let bytes: Int
            do { bytes = try checkedSize(of: e.shape, elementSize: size).bytes } catch let c as FileCheckError {
                throw fail("tensor '\(name)': field 'shape': \(c.reason)")
            }
            guard e.data_offsets.count == 2 else {
                throw fail("tensor '\(name)': field 'data_offsets' has \(e.data_offsets.count) numbers, not 2")
            }
            let begin = e.data_offsets[0], end = e.data_offsets[1]
            guard begin >= 0, begin <= end else {
                throw fail("tensor '\(name)': data_offsets [\(begin), \(end)] are not an ascending pair of non-negative numbers")
            }
            guard begin % size == 0 else {
                throw fail("tensor '\(name)' (\(e.dtype)) starts at data offset \(begin), not a multiple of its element size \(size)")
            }
            guard end - begin == bytes else {
                throw fail("tensor '\(name)' of shape \(e.shape) \(e.dtype) needs \(bytes) bytes, header gives \(begin)..<\(end)")
            }
            guard end <= payload else {
                throw fail("truncated: tensor '\(name)' ends at byte \(headerEnd + end), file has \(data.count)")
            }
            entries[name] = Entry(dtype: e.dtype, shape: e.shape, range: begin..<end)
        }
        // Non-empty ranges in order of their start: each must begin at or after the previous one's end.
        let ranges = entries.filter { !$0.value.range.isEmpty }.sorted { ($0.value.range.lowerBound, $0.key) < ($1.value.range.lowerBound, $1.key) }
        for (a, b) in zip(ranges, ranges.dropFirst()) where b.value.range.lowerBound < a.value.range.upperBound {
            throw fail("tensors '\(a.key)' (data bytes \(a.value.range)) and '\(b.key)' (data bytes \(b.value.range)) overlap")
        }
        self.path = path
        self.entries = entries
        self.metadata = header.metadata
        self.data = data
        self.dataStart = headerEnd
    }

    /// The largest header accepted, as in the reference implementation.
    static let maxHeaderBytes: UInt64 = 100_000_000

    private static let elementSize = ["F32": 4, "F16": 2, "BF16": 2]

    /// A header entry as written; checked by `init(path:)`.
    private struct RawEntry: Decodable {
        let dtype: String
        let shape: [Int]
        let data_offsets: [Int]

        enum CodingKeys: String, CodingKey { case dtype, shape, data_offsets }

        /// Why an entry does not decode, naming the field.
        struct Problem: Error, CustomStringConvertible { let description: String }

        init(from decoder: Decoder) throws {
            guard let c = try? decoder.container(keyedBy: CodingKeys.self) else { throw Problem(description: "entry is not a JSON object") }
            func field<T: Decodable>(_ key: CodingKeys, _ what: String) throws -> T {
                guard c.contains(key) else { throw Problem(description: "lacks field '\(key.rawValue)'") }
                guard let value = try? c.decode(T.self, forKey: key) else { throw Problem(description: "field '\(key.rawValue)' is not \(what)") }
                return value
            }
            dtype = try field(.dtype, "a string")
            shape = try field(.shape, "a list of integers")
            data_offsets = try field(.data_offsets, "a list of integers")
        }
    }

    /// The JSON header: each tensor's entry or why it does not decode, and the metadata.
    private struct Header: Decodable {
        var entries: [String: Result<RawEntry, Error>] = [:]
        var metadata: [String: String] = [:]
        var metadataProblem: String?

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            for key in c.allKeys {
                if key.stringValue == "__metadata__" {
                    do { metadata = try c.decode([String: String].self, forKey: key) } catch {
                        metadataProblem = "does not map strings to strings"
                    }
                } else {
                    entries[key.stringValue] = Result { try c.decode(RawEntry.self, forKey: key) }
                }
            }
        }
    }

    /// The named tensor converted to Float32, or nil when absent.
    public func tensor(_ name: String) -> Tensor? {
        guard let e = entries[name] else { return nil }
        let count = e.range.count / Self.elementSize[e.dtype]!
        let out = data.withUnsafeBytes { raw in
            let p = raw.baseAddress! + dataStart + e.range.lowerBound
            return [Float](unsafeUninitializedCapacity: count) { out, initialized in
                switch e.dtype {
                case "F32" where UInt32(littleEndian: 1) == 1:  // a little-endian host: the bytes as they are
                    UnsafeMutableRawPointer(out.baseAddress!).copyMemory(from: p, byteCount: 4 * count)
                case "F32": for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
                case "F16": for i in 0..<count { out[i] = halfToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
                default: for i in 0..<count { out[i] = bfloat16ToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
                }
                initialized = count
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
