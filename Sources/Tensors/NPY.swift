import Foundation
import Safety

/// Reading and writing NumPy `.npy` files (format versions 1-3, C order,
/// little-endian), the interchange format of `semcom preprocess` and `--keep`.
public enum NPY {
    /// A `.npy` file's contents: its shape and its values, widened to
    /// Double (exact for every integer type up to 2^53 and for float32).
    public struct Array: Sendable {
        public var shape: [Int]
        public var values: [Double]
        /// NumPy's dtype string, e.g. `<f4`, `<i8`.
        public var descr: String
    }

    /// An `.npy` problem, described in one line naming the file.
    public struct FormatError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// Reads any numeric `.npy` (f2/f4/f8, i1-i8, u1-u8, b1).
    public static func read(_ path: String) throws -> Array {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FormatError(path: path, reason: "cannot read file")
        }
        return try parse(data, path: path)
    }

    /// Reads a float `.npy` into a Float tensor.
    public static func readTensor(_ path: String) throws -> Tensor {
        let a = try read(path)
        return Tensor(shape: a.shape, scalars: a.values.map { Float($0) })
    }

    static func parse(_ data: Data, path: String) throws -> Array {
        func fail(_ r: String) -> FormatError { FormatError(path: path, reason: r) }
        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes[0] == 0x93, Swift.Array(bytes[1..<6]) == Swift.Array("NUMPY".utf8) else {
            throw fail("not a .npy file (bad magic)")
        }
        let major = bytes[6]
        let headerLength: Int, start: Int
        switch major {
        case 1: headerLength = Int(bytes[8]) | Int(bytes[9]) << 8; start = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw fail("truncated header") }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }; start = 12
        default: throw fail("unsupported .npy version \(major)")
        }
        guard start + headerLength <= bytes.count,
              let header = String(bytes: bytes[start..<(start + headerLength)], encoding: .utf8) else {
            throw fail("truncated header")
        }
        guard let descr = field("descr", in: header)?.trimmingCharacters(in: CharacterSet(charactersIn: "'\" ")),
              let shapeText = field("shape", in: header) else {
            throw fail("header lacks descr or shape: \(header.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        if let f = field("fortran_order", in: header), f.contains("True") { throw fail("Fortran-order arrays are not supported") }
        let shape = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
            .split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let count = shape.reduce(1, *)
        let kind = descr.dropFirst()
        guard descr.first == "<" || descr.first == "|" || (descr.first == "=" ), let size = Int(kind.dropFirst()) else {
            throw fail("unsupported dtype \(descr) (need little-endian numeric)")
        }
        let body = start + headerLength
        guard bytes.count - body >= count * size else {
            throw fail("truncated data: shape \(shape) of \(descr) needs \(count * size) bytes, file has \(bytes.count - body)")
        }
        var values = [Double](repeating: 0, count: count)
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let p = raw.baseAddress! + body
            func fill<T>(_: T.Type, _ convert: (T) -> Double) {
                for i in 0..<count { values[i] = convert(p.loadUnaligned(fromByteOffset: i * size, as: T.self)) }
            }
            switch (kind.first!, size) {
            case ("f", 2): fill(UInt16.self) { Double(halfToFloat($0)) }
            case ("f", 4): fill(Float.self) { Double($0) }
            case ("f", 8): fill(Double.self) { $0 }
            case ("i", 1): fill(Int8.self) { Double($0) }
            case ("i", 2): fill(Int16.self) { Double($0) }
            case ("i", 4): fill(Int32.self) { Double($0) }
            case ("i", 8): fill(Int64.self) { Double($0) }
            case ("u", 1), ("b", 1): fill(UInt8.self) { Double($0) }
            case ("u", 2): fill(UInt16.self) { Double($0) }
            case ("u", 4): fill(UInt32.self) { Double($0) }
            case ("u", 8): fill(UInt64.self) { Double($0) }
            default: throw fail("unsupported dtype \(descr)")
            }
        }
        return Array(shape: shape, values: values, descr: descr)
    }

    private static func field(_ key: String, in header: String) -> String? {
        guard let r = header.range(of: "'\(key)'") ?? header.range(of: "\"\(key)\"") else { return nil }
        var rest = header[r.upperBound...].drop { $0 == " " || $0 == ":" }
        if rest.first == "(" {
            guard let close = rest.firstIndex(of: ")") else { return nil }
            return String(rest[...close])
        }
        if let comma = rest.firstIndex(where: { $0 == "," || $0 == "}" }) { rest = rest[..<comma] }
        return String(rest)
    }

    /// Writes a float32 `.npy`, atomically (`AtomicWrite`: whole or not at all).
    public static func write(_ tensor: Tensor, to path: String) throws {
        var body = Data(capacity: tensor.count * 4)
        tensor.scalars.withUnsafeBytes { body.append(contentsOf: $0) }
        try write(descr: "<f4", shape: tensor.shape, body: body, to: path)
    }

    /// Writes an int64 `.npy`, atomically.
    public static func write(int64 values: [Int], shape: [Int], to path: String) throws {
        precondition(values.count == shape.reduce(1, *))
        var body = Data(capacity: values.count * 8)
        values.map { Int64($0) }.withUnsafeBytes { body.append(contentsOf: $0) }
        try write(descr: "<i8", shape: shape, body: body, to: path)
    }

    private static func write(descr: String, shape: [Int], body: Data, to path: String) throws {
        let dims = shape.count == 1 ? "\(shape[0])," : shape.map(String.init).joined(separator: ", ")
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(dims)), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Swift.Array("NUMPY".utf8) + [1, 0])
        let n = header.utf8.count
        data.append(contentsOf: [UInt8(n & 0xff), UInt8(n >> 8)])
        data.append(contentsOf: Swift.Array(header.utf8))
        data.append(body)
        try AtomicWrite.write(data, to: path)
    }
}

/// IEEE half (binary16) bits to Float.
@inline(__always)
public func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h >> 15) << 31
    let exponent = Int((h >> 10) & 0x1f), mantissa = UInt32(h & 0x3ff)
    switch exponent {
    case 0:  // zero or subnormal: mantissa * 2^-24
        let magnitude = Float(mantissa) * 0x1p-24
        return sign == 0 ? magnitude : -magnitude
    case 31: return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13))
    default: return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
    }
}

/// bfloat16 bits to Float (the upper half of a float32).
@inline(__always)
public func bfloat16ToFloat(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }
