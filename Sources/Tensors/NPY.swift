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

    /// Reads any numeric `.npy` (f2/f4/f8, i1-i8, u1-u8, b1), refusing a
    /// bad file with one line naming it and the fault. Checked before the
    /// values are allocated: the file is a regular file; magic, version and
    /// header length fit the file; the header has a supported little-endian
    /// `descr`, `fortran_order` False and a `shape` that is a tuple of
    /// non-negative integers whose element and byte counts fit in `Int`; the
    /// data is exactly that many bytes.
    public static func read(_ path: String) throws -> Array {
        let data: Data
        do { data = try mapRegularFile(path) } catch let e as FileCheckError { throw TensorFileError(path: path, e) }
        return try parse(data, path: path)
    }

    /// Reads a float `.npy` into a Float tensor.
    public static func readTensor(_ path: String) throws -> Tensor {
        let a = try read(path)
        return Tensor(shape: a.shape, scalars: a.values.map { Float($0) })
    }

    /// Element sizes of the supported dtype kinds (`f` float, `i` signed,
    /// `u` unsigned, `b` bool).
    private static let supported: [Character: Set<Int>] = ["f": [2, 4, 8], "i": [1, 2, 4, 8], "u": [1, 2, 4, 8], "b": [1]]

    static func parse(_ data: Data, path: String) throws -> Array {
        func fail(_ r: String) -> TensorFileError { TensorFileError(path: path, reason: r) }
        guard data.count >= 10, data.prefix(6).elementsEqual([0x93] + Swift.Array("NUMPY".utf8)) else {
            throw fail("not a .npy file (bad magic)")
        }
        let byte = { (i: Int) in Int(data[data.startIndex + i]) }
        let major = byte(6)
        let headerLength: Int, start: Int
        switch major {
        case 1: headerLength = byte(8) | byte(9) << 8; start = 10
        case 2, 3:
            guard data.count >= 12 else { throw fail("truncated header") }
            headerLength = (0..<4).reduce(0) { $0 | byte(8 + $1) << (8 * $1) }; start = 12
        default: throw fail("unsupported .npy version \(major)")
        }
        let body = start + headerLength  // at most 12 + 2^32: no overflow
        guard body <= data.count else {
            throw fail("truncated header: header length \(headerLength) at byte 8, file has \(data.count) bytes")
        }
        guard let header = String(bytes: data[(data.startIndex + start)..<(data.startIndex + body)], encoding: .utf8) else {
            throw fail("header (bytes \(start)..<\(body)) is not UTF-8 text")
        }
        guard let descr = field("descr", in: header)?.trimmingCharacters(in: CharacterSet(charactersIn: "'\" ")),
              let shapeText = field("shape", in: header) else {
            throw fail("header lacks descr or shape: \(header.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        if let f = field("fortran_order", in: header), f.contains("True") { throw fail("Fortran-order arrays are not supported") }
        let shape = try parseShape(shapeText, fail: fail)
        let kind = descr.dropFirst().first ?? " "
        guard "<|=".contains(descr.first ?? " "), let size = Int(descr.dropFirst(2)), supported[kind]?.contains(size) == true else {
            throw fail("unsupported dtype \(descr) (need little-endian f2/f4/f8, i1-i8, u1-u8 or b1)")
        }
        let count: Int, bytes: Int
        do { (count, bytes) = try checkedSize(of: shape, elementSize: size) } catch let e as FileCheckError {
            throw fail("field 'shape': \(e.reason)")
        }
        guard data.count - body == bytes else {
            let what = data.count - body < bytes ? "truncated data" : "trailing data"
            throw fail("\(what): shape \(shape) of \(descr) needs \(bytes) bytes after the header (byte \(body)), file has \(data.count - body)")
        }
        var values = [Double](repeating: 0, count: count)
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            guard let base = raw.baseAddress else { return }
            let p = base + body
            func fill<T>(_: T.Type, _ convert: (T) -> Double) {
                for i in 0..<count { values[i] = convert(p.loadUnaligned(fromByteOffset: i * size, as: T.self)) }
            }
            switch (kind, size) {
            case ("f", 2): fill(UInt16.self) { Double(halfToFloat($0)) }
            case ("f", 4): fill(Float.self) { Double($0) }
            case ("f", 8): fill(Double.self) { $0 }
            case ("i", 1): fill(Int8.self) { Double($0) }
            case ("i", 2): fill(Int16.self) { Double($0) }
            case ("i", 4): fill(Int32.self) { Double($0) }
            case ("i", 8): fill(Int64.self) { Double($0) }
            case ("u", 2): fill(UInt16.self) { Double($0) }
            case ("u", 4): fill(UInt32.self) { Double($0) }
            case ("u", 8): fill(UInt64.self) { Double($0) }
            default: fill(UInt8.self) { Double($0) }  // u1, b1
            }
        }
        return Array(shape: shape, values: values, descr: descr)
    }

    /// The dimensions of a header's shape tuple: `()`, `(n,)` or `(n, m, ...)`
    /// with each entry a decimal integer (a trailing comma allowed); anything
    /// else is an error naming the entry.
    private static func parseShape(_ text: String, fail: (String) -> TensorFileError) throws -> [Int] {
        guard text.hasPrefix("("), text.hasSuffix(")") else { throw fail("field 'shape' is \(text), not a tuple") }
        var parts = text.dropFirst().dropLast().split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        if parts == [""] { return [] }  // ()
        if parts.count > 1, parts.last == "" { parts.removeLast() }  // (n,) and (n, m,)
        return try parts.map { part in
            guard !part.isEmpty, part.allSatisfy({ $0 == "-" || $0.isASCII && $0.isNumber }), let n = Int(part) else {
                throw fail("field 'shape' \(text): entry '\(part)' is not an integer")
            }
            return n
        }
    }

    /// The raw text of `key`'s value in a header dict: a parenthesised
    /// tuple whole, anything else up to the next comma or brace.
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
