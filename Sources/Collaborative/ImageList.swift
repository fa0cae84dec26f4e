import Foundation
import ViT

/// A labelled list of image files, the rows of a cache.
public struct ImageList: Equatable, Sendable {
    /// Image paths, in row order.
    public var paths: [String]
    /// Class index per image, -1 when unknown.
    public var labels: [Int32]

    public init(paths: [String], labels: [Int32]) {
        precondition(paths.count == labels.count)
        self.paths = paths
        self.labels = labels
    }

    public var count: Int { paths.count }

    static let imageExtensions: Set<String> = ["jpeg", "jpg", "png"]

    /// Reads a list from `source`:
    /// - a `.csv` file of `path,label` rows (optional header; label a class
    ///   index or an ImageNet wnid, empty or -1 for unknown; relative paths are
    ///   relative to the CSV's folder);
    /// - an ImageFolder tree `root/<class>/*.{JPEG,jpg,png}`: classes in
    ///   sorted folder order (torchvision's), except that folders named by
    ///   ImageNet wnids get their ImageNet index (the same order on the full
    ///   1000-class tree, and still right on a subset of classes);
    /// - a flat folder of images whose names start with a wnid
    ///   (`n01440764_tench.JPEG`): the wnid's ImageNet index, else -1.
    /// Files are sorted by name within a class.
    public static func load(_ source: String, classNames: ClassNames = .imageNet) throws -> ImageList {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: source, isDirectory: &isDir) else {
            throw DatasetError(source, "no such file or folder")
        }
        if !isDir.boolValue {
            guard source.lowercased().hasSuffix(".csv") else { throw DatasetError(source, "expected a folder or a .csv file") }
            return try loadCSV(source, classNames: classNames)
        }
        let entries = try listing(source)
        let subfolders = entries.filter { isDirectory(source + "/" + $0) }
        if !subfolders.isEmpty {
            let allWnids = subfolders.allSatisfy { classNames.index(ofWnid: $0) != nil }
            var list = ImageList(paths: [], labels: [])
            for (position, folder) in subfolders.enumerated() {
                let label = allWnids ? classNames.index(ofWnid: folder)! : position
                for file in try listing(source + "/" + folder) where isImage(file) {
                    list.paths.append(source + "/" + folder + "/" + file)
                    list.labels.append(Int32(label))
                }
            }
            return list
        }
        let files = entries.filter(isImage)
        guard !files.isEmpty else { throw DatasetError(source, "no JPEG or PNG images in this folder") }
        return ImageList(paths: files.map { source + "/" + $0 },
                         labels: files.map { Int32(classNames.index(ofWnid: String($0.prefix { $0 != "_" && $0 != "." })) ?? -1) })
    }

    static func loadCSV(_ path: String, classNames: ClassNames) throws -> ImageList {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw DatasetError(path, "cannot read file") }
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
            let label: Int
            if labelText.isEmpty { label = -1 }
            else if let i = Int(labelText) { label = i }
            else if let i = classNames.index(ofWnid: labelText) { label = i }
            else { throw DatasetError(path, "line \(n + 1): label '\(labelText)' is neither a class index nor a known wnid") }
            list.paths.append(file.hasPrefix("/") ? file : base + "/" + file)
            list.labels.append(Int32(label))
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
            throw DatasetError(dir, "cannot list folder")
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
public struct DatasetError: Error, CustomStringConvertible {
    public let description: String
    init(_ path: String, _ reason: String) { description = "\(path): \(reason)" }
}
