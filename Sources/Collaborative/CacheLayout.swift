import Attention
import Foundation
import HDF5IO
import Imaging
import ViT

/// Where things are in a cache file (the schema is documented on `Cache`),
/// and how its parts are created.
public enum CacheLayout {
    public static let paths = "/images/path"
    public static let labels = "/images/label"
    public static let status = "/images/status"
    public static let errors = "/images/error"
    public static let bytes = "/images/bytes"
    public static let sha256 = "/images/sha256"
    /// Every per-run dataset, N rows each.
    public static let runDatasets = ["logits"] + ImportanceMeasure.stored.map { "importance/\($0)" } + ["attention/last"]

    /// The root attributes and the image datasets of a new cache over `images`
    /// (absolute paths), stored relative to their deepest common folder. Status,
    /// errors and pins start as "not read yet" unless given (a merge copies them).
    public static func create(in f: HDF5File, images: ImageList, preprocessing: Preprocessing, batch: Int,
                              statuses: [ImageStatus]? = nil, reasons: [String]? = nil, pins: [ImagePin]? = nil) throws {
        let n = images.count
        let root = commonFolder(images.paths)
        try f.setAttribute("format", to: Cache.format)
        try f.setAttribute("format_version", to: Cache.formatVersion)
        try f.setAttribute("semcom_version", to: semcomLibraryVersion)
        try f.setAttribute("image_size", to: Int64(preprocessing.size))
        try f.setAttribute("crop_pct", to: preprocessing.cropPct)
        try f.setAttribute("batch", to: Int64(batch))
        try f.setAttribute("images_root", to: root)
        let rowChunk = [max(1, min(n, 4096))]
        try f.createDataset(paths, values: images.paths.map { relative($0, to: root) }, chunks: rowChunk)
        try f.createDataset(labels, values: images.labels)
        try f.createDataset(status, values: (statuses ?? Array(repeating: .notRead, count: n)).map(\.rawValue), chunks: rowChunk)
        try f.createDataset(errors, values: reasons ?? Array(repeating: "", count: n), chunks: rowChunk)
        let pins = pins ?? Array(repeating: .none, count: n)
        try f.createDataset(bytes, values: pins.map(\.bytes), chunks: rowChunk)
        try f.createDataset(sha256, of: UInt8.self, shape: [n, 32], chunks: [rowChunk[0], 32])
        try f.openDataset(sha256).write(pins.flatMap(\.sha256))
    }

    /// Records what reading rows `first ..< first + outcomes.count` found.
    static func writeImageRows(_ f: HDF5File, first: Int, _ outcomes: [ImageOutcome]) throws {
        let rows = first..<(first + outcomes.count)
        try f.openDataset(status).write(outcomes.map(\.status.rawValue), rows: rows)
        try f.openDataset(errors).write(outcomes.map { $0.error ?? "" }, rows: rows)
        try f.openDataset(bytes).write(outcomes.map { $0.pin.bytes }, rows: rows)
        try f.openDataset(sha256).write(outcomes.flatMap { $0.pin.sha256 }, rows: rows)
    }

    /// Creates a run's group, attributes and (empty, chunked, compressed) datasets.
    public static func createRun(in f: HDF5File, model m: ModelSpec, sha256: String,
                                 config c: ViTConfig, images n: Int, completed: Int = 0) throws {
        let g = try f.requireGroup("/runs/\(m.name)")
        try g.setAttribute("arch", to: m.arch)
        try g.setAttribute("weights", to: m.weights)
        try g.setAttribute("weights_sha256", to: sha256)
        if let r = m.lowResolution { try g.setAttribute("low_resolution", to: Int64(r)) }
        for (k, v) in [("num_classes", c.numClasses), ("embed_dim", c.embedDim), ("depth", c.depth),
                       ("num_heads", c.numHeads), ("patch_size", c.patchSize), ("completed", completed)] {
            try g.setAttribute(k, to: Int64(v))
        }
        let shapes = [[c.numClasses], [c.numPatches], [c.numPatches], [c.numPatches], [c.numHeads, c.numTokens]]
        for (name, shape) in zip(runDatasets, shapes) {
            try g.createDataset(name, of: Float.self, shape: [n] + shape,
                                chunks: [max(1, min(n, 64))] + shape, deflate: 4, shuffle: true)
        }
    }

    /// The deepest folder holding every path ("/" at least).
    static func commonFolder(_ paths: [String]) -> String {
        guard let first = paths.first else { return "/" }
        var common = Array(first.split(separator: "/").dropLast())
        for p in paths.dropFirst() {
            let parts = p.split(separator: "/").dropLast()
            var k = 0
            while k < min(common.count, parts.count) && common[k] == parts[parts.startIndex + k] { k += 1 }
            common.removeLast(common.count - k)
        }
        return "/" + common.joined(separator: "/")
    }

    /// `path` relative to `root` (a folder holding it).
    static func relative(_ path: String, to root: String) -> String {
        let prefix = root == "/" ? "/" : root + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }

    /// A stored path joined to the root (absolute stored paths are kept).
    static func join(_ root: String, _ path: String) -> String {
        path.hasPrefix("/") ? path : (root == "/" ? "/" : root + "/") + path
    }
}

/// What reading one image for a cache found.
struct ImageOutcome {
    var status: ImageStatus
    var error: String?
    var pin: ImagePin
}
