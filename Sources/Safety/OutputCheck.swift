import Foundation

/// What a file holds, judged by its first bytes; also what a command is about to write.
public enum FileKind: String, Sendable {
    case text = "CSV/text", svg = "SVG", json = "JSON", png = "PNG", jpeg = "JPEG", npy = "NPY", hdf5 = "HDF5"
    case safetensors = "safetensors"
    /// Bytes of none of the kinds above that are not text (they contain NUL bytes).
    case binary = "unrecognised binary data"

    /// The kind of the file at `path` (symbolic links followed), or nil when
    /// there is no such file or it is empty. Binary kinds are told by their
    /// signatures (HDF5 `\x89HDF\r\n\x1a\n` at 0, 512, 1024 or 2048; JPEG `FF D8 FF`;
    /// PNG `\x89PNG\r\n\x1a\n`; NPY `\x93NUMPY`; safetensors: an 8-byte
    /// little-endian header length that fits the file, then `{`); text is
    /// SVG when it has `<svg` in its first 4 KiB, JSON when it starts with
    /// `{` or `[`, otherwise CSV/text.
    public init?(contentsOf path: String) {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 4096), !head.isEmpty else { return nil }
        let size = (try? handle.seekToEnd()) ?? UInt64(head.count)
        self = FileKind(head: [UInt8](head), fileSize: size)
    }

    /// The kind of a file whose first (up to 4096) bytes are `head`.
    init(head b: [UInt8], fileSize: UInt64) {
        func starts(_ signature: [UInt8], at offset: Int = 0) -> Bool {
            b.count >= offset + signature.count && Array(b[offset..<(offset + signature.count)]) == signature
        }
        if [0, 512, 1024, 2048].contains(where: { starts([0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A], at: $0) }) { self = .hdf5; return }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { self = .png; return }
        if starts([0xFF, 0xD8, 0xFF]) { self = .jpeg; return }
        if starts([0x93] + Array("NUMPY".utf8)) { self = .npy; return }
        if b.count >= 9, b[8] == UInt8(ascii: "{"), fileSize >= 8,
           b[0..<8].reversed().reduce(UInt64(0), { $0 << 8 | UInt64($1) }) <= fileSize - 8 { self = .safetensors; return }
        if b.contains(0) { self = .binary; return }
        let text = String(decoding: b, as: UTF8.self)
        let start = text.drop { $0.isWhitespace || $0 == "\u{FEFF}" }.first
        if text.contains("<svg") { self = .svg } else if start == "{" || start == "[" { self = .json } else { self = .text }
    }
}

/// Refuses an output path whose writing would destroy something; the error
/// is one line naming the file and the reason. Refused:
/// - a folder;
/// - any of `inputs`, compared by `FileIdentity` (so other spellings of the
///   path, hard links and symbolic links to an input all count);
/// - an existing file whose content is of another kind than `kind` (e.g. a
///   CSV over an HDF5 cache, a `.npy` over a JPEG).
/// Passes: no file, an empty file, or a file of the same kind (an earlier
/// output). A symbolic link is judged by the file it leads to, which is the
/// file `AtomicWrite.write` replaces (the link is kept).
public func checkOutput(_ path: String, kind: FileKind, inputs: [String]) throws {
    var isFolder: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
        throw FileSafetyError(path, "is a folder, not a file to write")
    }
    guard let output = FileIdentity(path) else { return }
    if let input = inputs.first(where: { FileIdentity($0) == output }) {
        let same = input == path ? "" : " (the same file as \(input))"
        throw FileSafetyError(path, "is an input of this command\(same); refusing to overwrite it")
    }
    if let existing = FileKind(contentsOf: path), existing != kind {
        throw FileSafetyError(path, "holds \(existing.rawValue), not \(kind.rawValue); refusing to replace it (remove it or choose another name)")
    }
}

extension AtomicWrite {
    /// `checkOutput(path, kind:, inputs:)`, then `write(data, to: path)`:
    /// the output is written whole or not at all, and never over an input
    /// or a file of another kind.
    public static func writeOutput(_ data: Data, to path: String, kind: FileKind, inputs: [String]) throws {
        try checkOutput(path, kind: kind, inputs: inputs)
        try write(data, to: path)
    }
}
