import Foundation
import Safety

/// SHA-256 (FIPS 180-4) of a file, as lowercase hex: the weights' identity
/// recorded in a cache (the same digest `sha256sum` and Hugging Face show).
public func sha256Hex(ofFile path: String) throws -> String {
    guard let handle = FileHandle(forReadingAtPath: path) else {
        let missing = !FileManager.default.fileExists(atPath: path)
        throw DatasetError(path, missing ? "no such file" : "cannot read file", kind: missing ? .notFound : .failed)
    }
    defer { try? handle.close() }
    var hasher = SHA256()
    while true {
        let chunk = handle.readData(ofLength: 1 << 22)
        if chunk.isEmpty { break }
        hasher.update(chunk)
    }
    return hasher.finalize().map { String(format: "%02x", $0) }.joined()
}
