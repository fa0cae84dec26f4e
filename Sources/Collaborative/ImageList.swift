import Foundation
import Safety
import ViT

/// A labelled list of image files, the rows of a cache.
public struct ImageList: Equatable, Sendable {
    /// Image paths, in row order.
    public var paths: [String]
    /// Class index per image (>= 0), -1 when unknown.
    public var labels: [Int32]

    public init(paths: [String], labels: [Int32]) {
        precondition(paths.count == labels.count)
        self.paths = paths
        self.labels = labels
    }

    public var count: Int { paths.count }

    static let imageExtensions: Set<String> = ["jpeg", "jpg", "png"]

    /// Reads a list from `source` (a relative source is resolved against the
    /// current directory; every returned path is absolute and standardised,
    /// so a cache built from it does not depend on the working directory):
    /// - a `.csv` file of `path,label` rows (optional `path,label` header;
    ///   relative paths are relative to the CSV's folder). A label is a class
    ///   index (0 ..< 2^31) or an ImageNet wnid; an unknown label is spelled
    ///   one way only: an empty label field, or no label column. A negative or
    ///   out-of-range label is an error naming the file and line;
    /// - an ImageFolder tree `root/<class>/*.{JPEG,jpg,png}`: classes in
    ///   sorted folder order (torchvision's), except that folders named by
    ///   ImageNet wnids get their ImageNet index (the same order on the full
    ///   1000-class tree, and still right on a subset of classes). A class
    ///   folder may be empty (it keeps its index) but must not hold subfolders;
    /// - a flat folder of images whose names start with a wnid
    ///   (`n01440764_tench.JPEG`): the wnid's ImageNet index, else unknown (-1).
    /// Files are sorted by name within a class; other files (not JPEG or PNG)
    /// and hidden entries are ignored. A folder holding both image files and
    /// subfolders is refused (neither layout would read all of it), and so is
    /// a source that yields no image at all.
    public static func load(_ source: String, classNames: ClassNames = .imageNet) throws -> ImageList {
        let fm = FileManager.default
        let source = absolute(source, relativeTo: fm.currentDirectoryPath)
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: source, isDirectory: &isDir) else {
            throw DatasetError(source, "no such file or folder", kind: .notFound)
        }
        if !isDir.boolValue {
            guard source.lowercased().hasSuffix(".csv") else { throw DatasetError(source, "expected a folder or a .csv file") }
            return try loadCSV(source, classNames: classNames)
        }
        let entries = try listing(source)
        let subfolders = entries.filter { isDirectory(source + "/" + $0) }
        let files = entries.filter { isImage($0) && !isDirectory(source + "/" + $0) }
        if !subfolders.isEmpty {
            guard files.isEmpty else {
                throw DatasetError(source, "holds both image files (\(files.count), e.g. '\(files[0])') and subfolders (\(subfolders.count), e.g. '\(subfolders[0])'): use class subfolders only (an ImageFolder tree) or images only (a flat folder)")
            }
            let allWnids = subfolders.allSatisfy { classNames.index(ofWnid: $0) != nil }
            var list = ImageList(paths: [], labels: [])
            for (position, folder) in subfolders.enumerated() {
                let label = allWnids ? classNames.index(ofWnid: folder)! : position
                let dir = source + "/" + folder
                let inner = try listing(dir)
                if let nested = inner.first(where: { isDirectory(dir + "/" + $0) }) {
                    throw DatasetError(dir, "class folder holds a subfolder '\(nested)': expected image files only (one level of class folders)")
                }
                for file in inner where isImage(file) {
                    list.paths.append(dir + "/" + file)
                    list.labels.append(Int32(label))
                }
            }
            guard list.count > 0 else {
                throw DatasetError(source, "no JPEG or PNG images in its \(subfolders.count) class folder(s)")
            }
            return list
        }
        guard !files.isEmpty else { throw DatasetError(source, "no JPEG or PNG images in this folder") }
        return ImageList(paths: files.map { source + "/" + $0 },
                         labels: files.map { Int32(classNames.index(ofWnid: String($0.prefix { $0 != "_" && $0 != "." })) ?? -1) })
    }

    /// `path` made absolute against `base` when relative, then standardised
    /// (`.` and `..` components and repeated or trailing slashes removed).
    static func absolute(_ path: String, relativeTo base: String) -> String {
        let full = path.hasPrefix("/") ? path : base + "/" + path
        return URL(fileURLWithPath: full).standardizedFileURL.path
    }

    static func loadCSV(_ path: String, classNames: ClassNames) throws -> ImageList {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            let missing = !FileManager.default.fileExists(atPath: path)
            throw DatasetError(path, missing ? "no such file" : "cannot read file as UTF-8 text", kind: missing ? .notFound : .corrupt)
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var list = ImageList(paths: [], labels: [])
        for (n, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            if n == 0 && fields.first?.lowercased() == "path" { continue }
            guard fields.count <= 2, let file = fields.first, !file.isEmpty else {
                throw DatasetError(path, "line \(n + 1): expected 'path,label', got '\(line)'")
            }
            let labelText = fields.count == 2 ? fields[1] : ""
            let label: Int32
            if labelText.isEmpty { label = -1 }
            else if labelText.allSatisfy({ $0.isASCII && $0.isNumber }) || (labelText.first.map { "+-".contains($0) } ?? false) {
                guard let i = Int32(labelText) else {
                    throw DatasetError(path, "line \(n + 1): label \(labelText) is not a class index in 0...\(Int32.max)")
                }
                guard i >= 0 else {
                    throw DatasetError(path, "line \(n + 1): label \(labelText) is negative (leave the label empty for an unknown class)")
                }
                label = i
            }
            else if let i = classNames.index(ofWnid: labelText) { label = Int32(i) }
            else { throw DatasetError(path, "line \(n + 1): label '\(labelText)' is neither a class index nor a known wnid") }
            list.paths.append(absolute(file, relativeTo: base))
            list.labels.append(label)
        }
        guard list.count > 0 else { throw DatasetError(path, "no image rows") }
        return list
    }

    /// The first `n` images.
    public func limited(to n: Int) -> ImageList {
        ImageList(paths: Array(paths.prefix(n)), labels: Array(labels.prefix(n)))
    }

    /// Shard `index` of `count`: contiguous rows, so that shards 0..<n
    /// concatenated in order give the whole list. Boundaries are multiples of
    /// `alignment` (the build's batch size), so that a sharded build runs the
    /// same batches as an unsharded one and gives bit-identical results.
    public func shard(_ index: Int, of count: Int, alignment: Int = 1) -> ImageList {
        let r = Self.shardRange(index, of: count, total: self.count, alignment: alignment)
        return ImageList(paths: Array(paths[r]), labels: Array(labels[r]))
    }

    public static func shardRange(_ index: Int, of count: Int, total: Int, alignment: Int = 1) -> Range<Int> {
        func boundary(_ i: Int) -> Int {
            i == count ? total : min(total, Int((Double(total * i) / Double(count * alignment)).rounded()) * alignment)
        }
        return boundary(index)..<boundary(index + 1)
    }

    private static func listing(_ dir: String) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }.sorted()
        } catch {
            throw DatasetError(dir, "cannot list folder", kind: .failed)
        }
    }

    private static func isDirectory(_ path: String) -> Bool {
        var d: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &d) && d.boolValue
    }

    private static func isImage(_ name: String) -> Bool {
        imageExtensions.contains((name as NSString).pathExtension.lowercased())
    }
}

/// A dataset problem, in one line naming the file or folder.
public struct DatasetError: KindedError {
    public let path: String
    public let reason: String
    /// `notFound` (no such folder or file), `stale` (an image changed since
    /// the cache was built), else `corrupt` (a list or folder that cannot be used).
    public let kind: ErrorKind
    public var description: String { "\(path): \(reason)" }
    init(_ path: String, _ reason: String, kind: ErrorKind = .corrupt) {
        self.path = path
        self.reason = reason
        self.kind = kind
    }
}
