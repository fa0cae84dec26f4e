import Attention
import Foundation
import HDF5IO
import Imaging
import Safety
import ViT
import Wire

/// Where things are in a cache file (the schema is documented on `Cache`),
/// how its parts are created and how its header is read back: the one place
/// that spells a dataset path, a group or a root attribute of the cache.
public enum CacheLayout {
    public static let paths = "/images/path"
    public static let labels = "/images/label"
    public static let status = "/images/status"
    public static let errors = "/images/error"
    public static let bytes = "/images/bytes"
    public static let sha256 = "/images/sha256"
    /// The group of the model runs, of the memo tables, and of their top-5 companions.
    public static let runs = "/runs", memo = "/memo", memoTop5 = "/memo_top5"
    /// A run's group.
    public static func run(_ name: String) -> String { "\(runs)/\(name)" }
    /// Per-run datasets (relative to the run's group), N rows each.
    public static let logits = "logits", lastAttention = "attention/last"
    public static func importance(_ m: ImportanceMeasure) -> String { "importance/\(m)" }
    public static let runDatasets = [logits] + ImportanceMeasure.stored.map(importance) + [lastAttention]
    /// A run's dataset, from the root.
    public static func run(_ name: String, _ dataset: String) -> String { "\(run(name))/\(dataset)" }
    /// The group of coded sizes (`cache build --codec`), one subgroup per codec, named as the codec is written.
    public static let codecs = "/codecs"
    public static func codec(_ c: Codec) -> String { "\(codecs)/\(c)" }
    /// A jpeg:Q codec's datasets (`CodedSizes.JPEGPatchBytes`): N x P and N rows.
    public static let patchBytes = "patch_bytes", mosaicBytes = "mosaic_bytes"
    /// A full-jpeg:Q codec's dataset: N rows.
    public static let imageBytes = "image_bytes"
    /// What each dataset holds and in what units, written as its `description`
    /// and `units` attributes (docs/method.md says more). Keys: the image
    /// datasets' paths, the run datasets' names, and `memo` for memo tables.
    static let documentation: [String: (units: String, description: String)] = [
        paths: ("", "image file, relative to the root attribute images_root; row order"),
        labels: ("class index", "true class, -1 when unknown"),
        status: ("0 not read, 1 read, 2 unreadable", "whether the row's image was read"),
        errors: ("", "why an unreadable image could not be used; empty otherwise"),
        bytes: ("bytes", "the image file's size when first read (-1 before)"),
        sha256: ("bytes", "SHA-256 of the image file when first read (zeros before)"),
        logits: ("logit", "raw class scores before softmax, N x C"),
        importance(.mean): ("fraction of 1", "last layer's class-token attention over the patches, head mean, renormalised; N x P"),
        importance(.rollout): ("fraction of 1", "the authors' attention rollout (per head, (A+I) products, head mean), renormalised; N x P"),
        importance(.textbook): ("fraction of 1", "Abnar and Zuidema's rollout (heads averaged, 0.5A+0.5I row-normalised), renormalised; N x P"),
        lastAttention: ("probability", "last layer's class-token attention per head over all tokens (prefix first); N x H x T"),
        patchBytes: ("bytes", "entropy-coded bytes of each patch of the crop coded alone as a one-patch JPEG mosaic at this quality (docs/wire.md); 0 for an unreadable image; N x P"),
        mosaicBytes: ("bytes", "bytes of the JPEG of the mosaic of all patches at this quality; 0 for an unreadable image"),
        imageBytes: ("bytes", "bytes of the whole crop as one JPEG at this quality, 4:2:0; 0 for an unreadable image"),
        memo: ("class index", "the server's class on the class token plus the first k patches of the ordering (column k); -1 not computed; N x (P+1)"),
        memoTop5: ("class index", "the server's five most likely classes, best first, on the class token plus the first k patches of the ordering (column k); -1 not computed, -2 past the number of classes; N x (P+1) x 5"),
    ]

    /// Writes `documentation[key]` on `dataset`.
    static func document(_ dataset: HDF5Dataset, as key: String) throws {
        guard let doc = documentation[key] else { return }
        try dataset.setAttribute("units", to: doc.units)
        try dataset.setAttribute("description", to: doc.description)
    }

    /// The memo table of `server`'s answers on prefixes of `ordering` (`MemoTable`).
    public static func memoTable(server: String, ordering: PatchOrdering) -> String { "\(memo)/\(server)/\(ordering)" }
    /// The top-5 companion of the memo table at `key` (`MemoTable.top5Key`).
    static func memoTop5Table(of key: String) -> String { memoTop5 + key.dropFirst(memo.count) }

    /// Root attributes: the format, the preprocessing and batch a cache was
    /// built with (a resume must match them), the images' folder, a shard's place.
    public static let format = "format", formatVersion = "format_version", semcomVersion = "semcom_version"
    public static let imageSize = "image_size", cropPct = "crop_pct", batch = "batch", imagesRoot = "images_root"
    /// The normalisation, R, G, B each (absent in caches made before it was recorded: ImageNet's).
    public static let mean = "mean", std = "std", interpolation = "interpolation"
    public static let shardIndex = "shard_index", shardCount = "shard_count"
    /// A run's attribute: rows 0..<completed are done.
    public static let completed = "completed"

    /// The images' folder of a cache of this format; another file or format is an error naming `path`.
    static func imagesRoot(of f: HDF5File, path: String) throws -> String {
        guard (try? f.attribute(format, as: String.self)) == Cache.format else {
            throw CacheError(path, "not a semcom cache (no format=\(Cache.format) attribute)", kind: .corrupt)
        }
        let version = try f.attribute(formatVersion, as: Int64.self)
        guard version == Cache.formatVersion else {
            throw CacheError(path, "cache format version \(version), this semcom reads \(Cache.formatVersion): rebuild it with semcom cache build", kind: .stale)
        }
        return try f.attribute(imagesRoot, as: String.self)
    }

    /// A run's attributes as written by `createRun` (unchecked: `Cache.run` checks them).
    static func readRun(_ name: String, in f: HDF5File, images n: Int) throws -> RunInfo {
        let g = try f.openGroup(run(name))
        func int(_ k: String) throws -> Int { Int(try g.attribute(k, as: Int64.self)) }
        return RunInfo(name: name, arch: try g.attribute("arch", as: String.self),
                       weights: try g.attribute("weights", as: String.self),
                       weightsSHA256: try g.attribute("weights_sha256", as: String.self),
                       numClasses: try int("num_classes"), embedDim: try int("embed_dim"), depth: try int("depth"),
                       numHeads: try int("num_heads"), patchSize: try int("patch_size"),
                       imageSize: Int(try f.attribute(imageSize, as: Int64.self)),
                       completed: min(n, max(0, try int(completed))),
                       lowResolution: try g.hasAttribute("low_resolution") ? try int("low_resolution") : nil,
                       prefixTokens: try g.hasAttribute("prefix_tokens") ? try int("prefix_tokens") : 1,
                       distilled: try g.hasAttribute("distilled") ? try int("distilled") != 0 : false,
                       noEmbedClass: try g.hasAttribute("no_embed_class") ? try int("no_embed_class") != 0 : false,
                       role: try g.hasAttribute("role") ? RunRole(rawValue: try g.attribute("role", as: String.self)) : nil,
                       jpegQuality: try g.hasAttribute("jpeg_quality") ? try int("jpeg_quality") : nil)
    }

    /// Rows a run has completed, as stored (for a writer resuming a build).
    static func completedRows(_ name: String, in f: HDF5File) throws -> Int {
        Int(try f.openGroup(run(name)).attribute(completed, as: Int64.self))
    }

    /// Records that a run's rows 0..<rows are done.
    static func setCompleted(_ name: String, rows: Int, in f: HDF5File) throws {
        try f.openGroup(run(name)).setAttribute(completed, to: Int64(rows))
    }

    /// The preprocessing a cache's runs were made with; an image size outside
    /// 1...4096 or a crop fraction that is not a positive number is an error
    /// naming `path` (a damaged or hand-made file), not a trap in the resize.
    static func preprocessing(of f: HDF5File, path: String) throws -> Preprocessing {
        let size = try f.attribute(imageSize, as: Int64.self)
        let crop = try f.attribute(cropPct, as: Double.self)
        guard (1...4096).contains(size) else { throw CacheError(path, "image_size is \(size), expected 1...4096", kind: .corrupt) }
        guard crop.isFinite && crop > 0 else { throw CacheError(path, "crop_pct is \(crop), expected a positive fraction", kind: .corrupt) }
        func rgb(_ name: String, _ absent: SIMD3<Float>) throws -> SIMD3<Float> {
            guard try f.hasAttribute(name) else { return absent }
            let v = try f.attributeValues(name, as: Double.self)
            guard v.count == 3, v.allSatisfy(\.isFinite), name != std || v.allSatisfy({ $0 > 0 }) else {
                throw CacheError(path, "\(name) is \(v), expected 3 finite numbers\(name == std ? " > 0" : "")", kind: .corrupt)
            }
            return SIMD3(Float(v[0]), Float(v[1]), Float(v[2]))
        }
        return Preprocessing(size: Int(size), cropPct: crop, mean: try rgb(mean, Preprocessing.imagenetMean),
                             std: try rgb(std, Preprocessing.imagenetStd))
    }

    /// The batch size a cache was built with.
    static func batch(of f: HDF5File) throws -> Int { Int(try f.attribute(batch, as: Int64.self)) }

    /// The root attributes and the image datasets of a new cache over `images`
    /// (absolute paths), stored relative to their deepest common folder. Status,
    /// errors and pins start as "not read yet" unless given (a merge copies them).
    public static func create(in f: HDF5File, images: ImageList, preprocessing: Preprocessing, batch: Int,
                              statuses: [ImageStatus]? = nil, reasons: [String]? = nil, pins: [ImagePin]? = nil) throws {
        let n = images.count
        let root = commonFolder(images.paths)
        try f.setAttribute(format, to: Cache.format)
        try f.setAttribute(formatVersion, to: Cache.formatVersion)
        try f.setAttribute(semcomVersion, to: semcomLibraryVersion)
        try f.setAttribute(imageSize, to: Int64(preprocessing.size))
        try f.setAttribute(cropPct, to: preprocessing.cropPct)
        let (m, s) = (preprocessing.mean, preprocessing.std)
        try f.setAttribute(mean, to: [m.x, m.y, m.z].map(Double.init))
        try f.setAttribute(std, to: [s.x, s.y, s.z].map(Double.init))
        try f.setAttribute(interpolation, to: Preprocessing.interpolation)
        try f.setAttribute(self.batch, to: Int64(batch))
        try f.setAttribute(imagesRoot, to: root)
        let rowChunk = [max(1, min(n, 4096))]
        try f.createDataset(paths, values: images.paths.map { relative($0, to: root) }, chunks: rowChunk)
        try f.createDataset(labels, values: images.labels)
        try f.createDataset(status, values: (statuses ?? Array(repeating: .notRead, count: n)).map(\.rawValue), chunks: rowChunk)
        try f.createDataset(errors, values: reasons ?? Array(repeating: "", count: n), chunks: rowChunk)
        let pins = pins ?? Array(repeating: .none, count: n)
        try f.createDataset(bytes, values: pins.map(\.bytes), chunks: rowChunk)
        try f.createDataset(sha256, of: UInt8.self, shape: [n, 32], chunks: [rowChunk[0], 32])
        try f.openDataset(sha256).write(pins.flatMap(\.sha256))
        for key in [paths, labels, status, errors, bytes, sha256] { try document(try f.openDataset(key), as: key) }
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
        let g = try f.requireGroup(run(m.name))
        try g.setAttribute("arch", to: m.arch)
        try g.setAttribute("weights", to: m.weights)
        try g.setAttribute("weights_sha256", to: sha256)
        if let r = m.lowResolution { try g.setAttribute("low_resolution", to: Int64(r)) }
        if let q = m.jpegQuality { try g.setAttribute("jpeg_quality", to: Int64(q)) }
        if let role = m.role { try g.setAttribute("role", to: role.rawValue) }
        for (k, v) in [("num_classes", c.numClasses), ("embed_dim", c.embedDim), ("depth", c.depth),
                       ("num_heads", c.numHeads), ("patch_size", c.patchSize), ("prefix_tokens", c.prefixTokens),
                       ("distilled", c.distilled ? 1 : 0), ("no_embed_class", c.noEmbedClass ? 1 : 0), (self.completed, completed)] {
            try g.setAttribute(k, to: Int64(v))
        }
        let shapes = [[c.numClasses], [c.numPatches], [c.numPatches], [c.numPatches], [c.numHeads, c.numTokens]]
        for (name, shape) in zip(runDatasets, shapes) {
            try document(try g.createDataset(name, of: Float.self, shape: [n] + shape,
                                             chunks: [max(1, min(n, 64))] + shape, deflate: 4, shuffle: true), as: name)
        }
    }

    /// Creates a codec's group: attributes (the patch grid; for jpeg:Q the
    /// mosaics' fixed overhead in bytes, -1 until measured; rows completed)
    /// and its empty datasets. Raw frames are counted exactly and have none.
    static func createCodec(in f: HDF5File, codec: Codec, grid: PatchGrid, images n: Int, completed: Int = 0) throws {
        let g = try f.requireGroup(self.codec(codec))
        for (k, v) in [("patch_size", grid.patchSize), ("grid_columns", grid.columns), ("grid_rows", grid.rows), (self.completed, completed)] {
            try g.setAttribute(k, to: Int64(v))
        }
        let chunk = max(1, min(n, 256))
        switch codec {
        case .raw: break
        case .jpeg:
            try g.setAttribute("overhead", to: Int64(-1))
            try document(try g.createDataset(patchBytes, of: Int32.self, shape: [n, grid.count], chunks: [chunk, grid.count], deflate: 4, shuffle: true), as: patchBytes)
            try document(try g.createDataset(mosaicBytes, of: Int32.self, shape: [n], chunks: [chunk]), as: mosaicBytes)
        case .fullJPEG:
            try document(try g.createDataset(imageBytes, of: Int32.self, shape: [n], chunks: [chunk]), as: imageBytes)
        }
    }

    /// Rows a codec has recorded.
    static func completedRows(codec: Codec, in f: HDF5File) throws -> Int {
        Int(try f.openGroup(self.codec(codec)).attribute(completed, as: Int64.self))
    }

    /// Records that a codec's rows 0..<rows are done.
    static func setCompleted(codec: Codec, rows: Int, in f: HDF5File) throws {
        try f.openGroup(self.codec(codec)).setAttribute(completed, to: Int64(rows))
    }

    /// The patch grid a codec's sizes were recorded on.
    static func codecGrid(_ codec: Codec, in f: HDF5File) throws -> PatchGrid? {
        let g = try f.openGroup(self.codec(codec))
        func int(_ k: String) throws -> Int { Int(try g.attribute(k, as: Int64.self)) }
        let (s, c, r) = (try int("patch_size"), try int("grid_columns"), try int("grid_rows"))
        guard s > 0, c > 0, r > 0 else { return nil }
        return PatchGrid(patchSize: s, columns: c, rows: r)
    }

    /// Stores the records of rows `first ..< first + records.count` for `codec`
    /// (an unreadable image's, nil, as zeros). A jpeg:Q codec's fixed overhead
    /// is stored with the first record and must agree with it after (a stored
    /// one that does not is a damaged file: an error naming `path`).
    static func writeCodecRows(_ f: HDF5File, path: String, codec: Codec, first: Int, _ records: [CodedSizes.Record?], patches p: Int) throws {
        let g = try f.openGroup(self.codec(codec))
        let rows = first..<(first + records.count)
        switch codec {
        case .raw: break
        case .jpeg:
            var alone = [Int32](repeating: 0, count: records.count * p), all = [Int32](repeating: 0, count: records.count)
            var overhead = Int(try g.attribute("overhead", as: Int64.self))
            for (i, r) in records.enumerated() {
                guard case .jpeg(let sizes)? = r else { continue }
                for (j, b) in sizes.alone.enumerated() { alone[i * p + j] = Int32(b) }
                all[i] = Int32(sizes.all)
                if overhead < 0 { overhead = sizes.overhead; try g.setAttribute("overhead", to: Int64(overhead)) }
                guard overhead == sizes.overhead else {
                    throw CacheError(path, "codec \(codec): stored overhead \(overhead) bytes, but a mosaic at this quality has \(sizes.overhead)", kind: .corrupt)
                }
            }
            try g.openDataset(patchBytes).write(alone, rows: rows)
            try g.openDataset(mosaicBytes).write(all, rows: rows)
        case .fullJPEG:
            try g.openDataset(imageBytes).write(records.map { r -> Int32 in
                if case .fullJPEG(let b)? = r { return Int32(b) } else { return 0 }
            }, rows: rows)
        }
    }

    /// The codecs a cache records, as written in its group names (unparseable names are skipped).
    static func codecNames(in f: HDF5File) throws -> [Codec] {
        guard try f.contains(codecs) else { return [] }
        return try f.openGroup(codecs).members().compactMap(Codec.init(parsing:))
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
