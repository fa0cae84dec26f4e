import Foundation
import Safety
import Wire

/// What `semcom cache info` reports: runs and their progress, the images,
/// memo fill per table, and any problems found.
public struct CacheInfo: Sendable {
    public struct Run: Sendable {
        public let info: RunInfo
        /// Whether the weights file is where the cache says, with the recorded SHA-256
        /// (needed only to compute new server answers).
        public let weightsPresent: Bool
    }
    public struct Memo: Sendable {
        /// `/memo/SERVER/ORDERING`.
        public let key: String
        /// Server answers stored, of rows x columns.
        public let stored, rows, columns: Int
    }
    public struct CodecSizes: Sendable {
        public let codec: Codec
        /// Images recorded.
        public let completed: Int
        /// Mean bytes of the frame sending every patch, over the readable recorded images.
        public let meanBytes: Double?
    }
    public let path: String
    public let formatVersion: Int
    public let images: Int
    public let imagesRoot: String
    public let labelled: Int
    public let unreadable: [(row: Int, path: String, reason: String)]
    public let runs: [Run]
    public let memos: [Memo]
    /// The coded sizes recorded (`cache build --codec`).
    public let codecs: [CodecSizes]
    /// One line per problem: incomplete runs, unreadable images, a missing
    /// images folder or weights file, a writer at work, leftovers of a crashed writer.
    public let problems: [String]

    /// Reads the report off a cache. Checking the weights reads each weights
    /// file once (SHA-256).
    public init(_ cache: Cache) throws {
        path = cache.path
        formatVersion = Int(Cache.formatVersion)
        images = cache.images.count
        imagesRoot = cache.imagesRoot
        labelled = cache.images.labels.filter { $0 >= 0 }.count
        unreadable = try cache.unreadable()
        var problems: [String] = []
        var runs: [Run] = []
        var checked: [String: Bool] = [:]
        for name in try cache.runNames() {
            let info = try cache.run(name)
            let present = checked[info.weights] ?? ((try? sha256Hex(ofFile: info.weights)) == info.weightsSHA256)
            checked[info.weights] = present
            runs.append(Run(info: info, weightsPresent: present))
            if info.completed < images {
                problems.append("run '\(name)' is incomplete: \(thousands(info.completed)) of \(thousands(images)) images (run the same semcom cache build again to finish it)")
            }
            if !present {
                problems.append("run '\(name)': weights \(info.weights) missing or changed (needed only to compute new server answers)")
            }
        }
        self.runs = runs
        let status = cache.status, n = cache.images.count
        var codecs: [CodecSizes] = []
        for codec in try cache.codecs() {
            let table = try cache.codedSizes(codec)
            let bytes = (0..<table.completed).filter { status[$0] == .read }.map {
                Double(codec.isWholeImage ? table.fullFrameBytes(row: $0) : table.allPatchesFrameBytes(row: $0))
            }
            if table.completed < n {
                problems.append("codec \(codec) is recorded for \(thousands(table.completed)) of \(thousands(n)) images (run the same semcom cache build again to finish it)")
            }
            codecs.append(CodecSizes(codec: codec, completed: table.completed, meanBytes: bytes.isEmpty ? nil : bytes.reduce(0, +) / Double(bytes.count)))
        }
        self.codecs = codecs
        memos = try MemoTable.keys(in: cache).map { key in
            let columns = try MemoTable.columns(key, in: cache)
            let values = try MemoTable.stored(key, in: cache)
            return Memo(key: key, stored: values.filter { $0 >= 0 }.count, rows: cache.images.count, columns: columns)
        }
        if !unreadable.isEmpty {
            problems.append("\(unreadable.count) unreadable image(s), skipped by every evaluation; first: row \(unreadable[0].row): \(unreadable[0].reason)")
        }
        var isFolder: ObjCBool = false
        if !(FileManager.default.fileExists(atPath: imagesRoot, isDirectory: &isFolder) && isFolder.boolValue) {
            problems.append("images folder \(imagesRoot) not found (needed only to compute new server answers); if it moved: semcom cache relocate \(path) --images-root NEW")
        }
        let writer = CacheWriter.writer(of: cache.path)
        if writer.busy {
            problems.append("being written now by another process\(writer.pid.map { " (pid \($0))" } ?? "")")
        } else if case let leftovers = CacheWriter.leftovers(of: cache.path), !leftovers.isEmpty {
            problems.append("\(leftovers.count) leftover private copy(ies) of an interrupted writer beside the cache (removed by the next write)")
        }
        self.problems = problems
    }
}

extension Cache {
    /// Points the cache at its images in a new folder (after the images folder
    /// moved): every image must be there with its recorded size (the content
    /// is checked against its SHA-256 when it is next read). Returns the count
    /// of images checked.
    @discardableResult
    public static func relocate(_ path: String, imagesRoot: String) throws -> Int {
        let root = URL(fileURLWithPath: imagesRoot).standardizedFileURL.path
        let cache = try Cache(path: path)
        let relative = try cache.file.openDataset(CacheLayout.paths).read(as: String.self).values
        let pins = try cache.pins()
        for (i, r) in relative.enumerated() {
            let p = CacheLayout.join(root, r)
            var s = stat()
            guard stat(p, &s) == 0 else { throw CacheError(path, "row \(i): \(p) not found under the new images root", kind: .notFound) }
            if pins[i] != .none && Int64(s.st_size) != pins[i].bytes {
                throw CacheError(path, "row \(i): \(p) has \(s.st_size) bytes, the cache recorded \(pins[i].bytes): not the same image", kind: .stale)
            }
        }
        let writer = try CacheWriter(path: path)
        try writer.file.setAttribute(CacheLayout.imagesRoot, to: root)
        try writer.commit()
        return relative.count
    }
}
