import Foundation

/// A minimal reader for NumPy `.npy` files (format 1.0 to 3.0): C-order,
/// little-endian `|u1` (uint8) and `<f4` (float32) only, enough for the fixtures.
struct NPYArray {
    /// NumPy dtype string, e.g. "|u1" or "<f4".
    let descr: String
    let shape: [Int]
    /// The raw element bytes, `shape.reduce(1, *)` elements.
    let data: [UInt8]

    enum Failure: Error, CustomStringConvertible {
        case invalid(String, String)
        var description: String {
            switch self {
            case .invalid(let path, let why): return "\(path): not a supported .npy file: \(why)"
            }
        }
    }

    init(contentsOf path: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        guard bytes.count >= 10, bytes.starts(with: [0x93] + Array("NUMPY".utf8)) else {
            throw Failure.invalid(path, "no NUMPY magic")
        }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        if major == 1 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        } else {
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        }
        let header = String(decoding: bytes[headerStart ..< headerStart + headerLength], as: UTF8.self)
        func value(of key: String) throws -> String {
            guard let keyRange = header.range(of: "'\(key)':") else { throw Failure.invalid(path, "no \(key)") }
            return String(header[keyRange.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        let descrField = try value(of: "descr")
        guard let descr = descrField.split(separator: "'").first.map(String.init) else {
            throw Failure.invalid(path, "bad descr")
        }
        guard try value(of: "fortran_order").hasPrefix("False") else { throw Failure.invalid(path, "Fortran order") }
        let shapeField = try value(of: "shape")
        guard let open = shapeField.firstIndex(of: "("), let close = shapeField.firstIndex(of: ")") else {
            throw Failure.invalid(path, "bad shape")
        }
        let shape = shapeField[shapeField.index(after: open) ..< close]
            .split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let elementSize: Int
        switch descr {
        case "|u1": elementSize = 1
        case "<f4": elementSize = 4
        default: throw Failure.invalid(path, "dtype \(descr) (only |u1 and <f4)")
        }
        let start = headerStart + headerLength
        let count = shape.reduce(1, *) * elementSize
        guard bytes.count == start + count else { throw Failure.invalid(path, "size mismatch") }
        self.descr = descr
        self.shape = shape
        self.data = Array(bytes[start...])
    }

    /// The elements of a `|u1` array.
    var uint8: [UInt8] {
        precondition(descr == "|u1", "array is \(descr), not uint8")
        return data
    }

    /// The elements of a `<f4` array.
    var float32: [Float] {
        precondition(descr == "<f4", "array is \(descr), not float32")
        return stride(from: 0, to: data.count, by: 4).map { i in
            Float(bitPattern: UInt32(data[i]) | UInt32(data[i + 1]) << 8
                  | UInt32(data[i + 2]) << 16 | UInt32(data[i + 3]) << 24)
        }
    }
}
