import Attention
import Foundation
import HDF5IO
import Imaging
import Safety
import Tensors
import ViT

/// The cache file: every model run once over a list of images, plus the
/// server's memoised predictions on patch prefixes. Schema (format version 2):
///
///     /                           attrs format="semcom-cache", format_version, semcom_version,
///                                 image_size, crop_pct, mean, std, batch, images_root (absolute folder the
///                                 image paths are relative to); shards also shard_index, shard_count
///     /images/path                N strings, relative to images_root
///     /images/label               N int32 (-1 = unknown)
///     /images/status              N int8: 0 not read yet, 1 read, 2 unreadable (skipped everywhere)
///     /images/error               N strings: why an unreadable image could not be used ("" otherwise)
///     /images/bytes               N int64: the file's size when first read (-1 = not read yet)
///     /images/sha256              N x 32 uint8: SHA-256 of the file's bytes when first read
///     /runs/NAME                  attrs arch, weights, weights_sha256, num_classes, embed_dim,
///                                 depth, num_heads, patch_size, prefix_tokens (class and other
///                                 tokens before the patches; absent: 1), distilled (1: the
///                                 second prefix token is a distillation token with its own
///                                 head; absent: 0), no_embed_class (1: the position embedding
///                                 covers the patches only; absent: 0), completed (rows
///                                 0..<completed are done), low_resolution (only on low-resolution
///                                 runs: side R in px)
///     /runs/NAME/logits           N x C float32
///     /runs/NAME/importance/mean      N x P float32  (last-layer class attention, head mean)
///     /runs/NAME/importance/rollout   N x P float32  (the authors' rollout)
///     /runs/NAME/importance/textbook  N x P float32  (Abnar and Zuidema's rollout)
///     /runs/NAME/attention/last   N x H x T float32  (last-layer class-token rows, T = prefix_tokens + P)
///     /memo/SERVER/ORDERING       N x (P+1) int16: the server's class on the first k patches
///                                 of ORDERING (column k), -1 = not computed yet
///     /memo_top5/SERVER/ORDERING  N x (P+1) x 5 int16: its five most likely classes there, best
///                                 first (the first is the memo's class), -1 = not computed yet,
///                                 -2 = past the number of classes; absent in caches filled before
///                                 it was stored (their entries are computed again once)
///
/// ORDERING is `RUN:MEASURE` (e.g. `tiny:mean`) or `random:SEED`. Rows of an
/// unreadable image hold zeros and are never evaluated. The file is only
/// ever replaced whole (`CacheWriter`), so a `Cache` reads one consistent
/// version of it; `reopen()` moves to the newest.
public final class Cache {
    public static let format = "semcom-cache"
    public static let formatVersion: Int64 = 2

    public let path: String
    /// The file, open read-only (changes go through `CacheWriter`); its
    /// layout is `CacheLayout`'s, read through this type's methods.
    private(set) var file: HDF5File
    /// The images, with absolute paths (images_root joined with the stored paths).
    public private(set) var images: ImageList
    /// The folder the stored image paths are relative to.
    public private(set) var imagesRoot: String
    /// Per row: whether its image was read.
    public private(set) var status: [ImageStatus]

    /// Opens an existing cache for reading.
    public init(path: String) throws {
        self.path = path
        (file, images, imagesRoot, status) = try Self.readPublished(path)
    }

    /// A view of a file being written (`CacheWriter.file`), named by the published path.
    init(path: String, file: HDF5File) throws {
        self.path = path
        (file: self.file, images, imagesRoot, status) = try Self.read(path, file: file)
    }

    /// Re-reads the newest published version of the file (after a `CacheWriter` commit).
    public func reopen() throws {
        (file, images, imagesRoot, status) = try Self.readPublished(path)
    }

    /// `read` on the published file, HDF5's errors as cache errors of their kind.
    private static func readPublished(_ path: String) throws -> (HDF5File, ImageList, String, [ImageStatus]) {
        do { return try read(path, file: HDF5File.open(path, mode: .readOnly)) } catch let e as HDF5Error { throw CacheError(path, hdf5: e) }
    }

    private static func read(_ path: String, file: HDF5File) throws -> (HDF5File, ImageList, String, [ImageStatus]) {
        let root = try CacheLayout.imagesRoot(of: file, path: path)
        let relative = try file.openDataset(CacheLayout.paths).read(as: String.self).values
        let labels = try file.openDataset(CacheLayout.labels).read(as: Int32.self).values
        let status = try file.openDataset(CacheLayout.status).read(as: Int8.self).values.map { ImageStatus(rawValue: $0) ?? .unreadable }
        guard labels.count == relative.count, status.count == relative.count else {
            throw CacheError(path, "image datasets disagree in length (\(relative.count) paths, \(labels.count) labels, \(status.count) statuses)", kind: .corrupt)
        }
        let list = ImageList(paths: relative.map { CacheLayout.join(root, $0) }, labels: labels)
        return (file, list, root, status)
    }

    /// The preprocessing the runs were made with; an image size outside
    /// 1...4096 or a crop fraction that is not a positive number is an error
    /// (a damaged or hand-made file), not a trap in the resize.
    public var preprocessing: Preprocessing {
        get throws { try CacheLayout.preprocessing(of: file, path: path) }
    }

    /// Per row, the recorded identity of its image (`ImagePin.none` when not read yet).
    public func pins() throws -> [ImagePin] {
        let bytes = try file.openDataset(CacheLayout.bytes).read(as: Int64.self).values
        let digests = try file.openDataset(CacheLayout.sha256).read(as: UInt8.self).values
        guard bytes.count == images.count, digests.count == 32 * images.count else {
            throw CacheError(path, "image pins disagree in length with the image list", kind: .corrupt)
        }
        return (0..<images.count).map { ImagePin(bytes: bytes[$0], sha256: Array(digests[(32 * $0)..<(32 * $0 + 32)])) }
    }

    /// The unreadable images: row, path and reason (a one-line message naming the file).
    public func unreadable() throws -> [(row: Int, path: String, reason: String)] {
        let rows = status.indices.filter { status[$0] == .unreadable }
        guard !rows.isEmpty else { return [] }
        let reasons = try file.openDataset(CacheLayout.errors).read(as: String.self).values
        return rows.map { ($0, images.paths[$0], reasons[$0]) }
    }

    /// The rows an evaluation over `runs` uses: those complete in every run
    /// whose image was read. Rows not yet built in some run are an error naming
    /// the run and its progress, unless `partial`, when only the completed rows are used.
    public func usableRows(runs: [String], partial: Bool) throws -> RowSelection {
        let n = images.count
        var complete = n
        for name in Set(runs).sorted() {
            let done = try run(name).completed
            if done < n && !partial {
                throw CacheError(path, "run '\(name)' is incomplete: \(thousands(done)) of \(thousands(n)) images; finish it with the same semcom cache build, or use the completed rows only (--partial; in the REPL, set partial on)", kind: .incomplete)
            }
            complete = min(complete, done)
        }
        let rows = (0..<complete).filter { status[$0] == .read }
        let unreadable = (0..<complete).filter { status[$0] == .unreadable }.count
        guard !rows.isEmpty else {
            throw CacheError(path, complete == 0 ? "no complete rows in run(s) \(Set(runs).sorted().joined(separator: ", ")): build them with semcom cache build"
                                                 : "none of the \(complete) completed images could be read (see semcom cache info)", kind: .incomplete)
        }
        return RowSelection(rows: rows, total: n, completed: complete, unreadable: unreadable)
    }

    /// Names of the model runs.
    public func runNames() throws -> [String] {
        try file.contains(CacheLayout.runs) ? try file.openGroup(CacheLayout.runs).members() : []
    }

    /// A run's recorded description, or an error naming the runs that exist.
    /// Its attributes are checked against each other and against its datasets'
    /// shapes (a damaged or hand-made file gives an error naming what disagrees).
    public func run(_ name: String) throws -> RunInfo {
        guard try file.contains(CacheLayout.run(name)) else {
            throw CacheError(path, "no run '\(name)'; runs: \(try runNames().joined(separator: ", "))", kind: .notFound)
        }
        let info = try CacheLayout.readRun(name, in: file, images: images.count)
        try check(info)
        return info
    }

    /// A run's sizes are positive and consistent, and its datasets have the shapes they imply.
    private func check(_ r: RunInfo) throws {
        func fail(_ what: String) -> CacheError { CacheError(path, "run '\(r.name)': \(what)", kind: .corrupt) }
        let limit = 1 << 20
        for (key, v) in [("num_classes", r.numClasses), ("embed_dim", r.embedDim), ("depth", r.depth),
                         ("num_heads", r.numHeads), ("patch_size", r.patchSize), ("image_size", r.imageSize)] where !(1...limit).contains(v) {
            throw fail("\(key) is \(v), expected 1...\(limit)")
        }
        guard (1...64).contains(r.prefixTokens) else { throw fail("prefix_tokens is \(r.prefixTokens), expected 1...64") }
        if r.distilled && r.prefixTokens < 2 { throw fail("distilled, but prefix_tokens is \(r.prefixTokens) (expected 2: class and distillation tokens)") }
        guard r.imageSize % r.patchSize == 0 else { throw fail("image_size \(r.imageSize) is not a multiple of patch_size \(r.patchSize)") }
        guard r.embedDim % r.numHeads == 0 else { throw fail("embed_dim \(r.embedDim) is not a multiple of num_heads \(r.numHeads)") }
        if let low = r.lowResolution, !(1..<r.imageSize).contains(low) { throw fail("low_resolution \(low) is not in 1..<\(r.imageSize)") }
        if let q = r.jpegQuality, !(1...100).contains(q) { throw fail("jpeg_quality \(q) is not in 1...100") }
        let n = images.count, p = r.numPatches
        let expected = [[n, r.numClasses], [n, p], [n, p], [n, p], [n, r.numHeads, r.prefixTokens + p]]
        for (dataset, shape) in zip(CacheLayout.runDatasets, expected) {
            let key = CacheLayout.run(r.name, dataset)
            guard try file.contains(key) else { throw fail("dataset \(dataset) is missing") }
            let found = try file.openDataset(key).shape
            guard found == shape else { throw fail("dataset \(dataset) has shape \(found), expected \(shape)") }
        }
    }

    /// N x C logits of a run (its shape checked by `run(_:)`, its values finite).
    public func logits(_ run: String) throws -> [Float] {
        let info = try self.run(run)
        let d = CacheLayout.logits
        return try finite(file.openDataset(CacheLayout.run(run, d)).read(as: Float.self).values, "run '\(run)': \(d)", width: info.numClasses)
    }

    /// `values` (rows of `width`) when all are finite; else an error naming the
    /// dataset and the row. A build never stores a NaN or an infinity, so one
    /// means a damaged or hand-made file, whose answers would be wrong.
    private func finite(_ values: [Float], _ what: String, width: Int) throws -> [Float] {
        if let i = values.withUnsafeBufferPointer(firstNonFinite) {
            throw CacheError(path, "\(what) of row \(i / width) holds \(values[i]): a damaged cache", kind: .corrupt)
        }
        return values
    }

    /// N x P importance scores of a run under `measure` (`head:I` is head I's
    /// last-layer class-token row over the patches, renormalised).
    /// Shapes are checked by `run(_:)`, values for finiteness here.
    public func importance(_ run: String, measure: ImportanceMeasure) throws -> [Float] {
        let info = try self.run(run)
        if case .head(let h) = measure {
            let d = try file.openDataset(CacheLayout.run(run, CacheLayout.lastAttention))
            let (n, heads, t) = (images.count, info.numHeads, info.prefixTokens + info.numPatches)
            guard (0..<heads).contains(h) else { throw CacheError(path, "run '\(run)' has heads 0..<\(heads), asked head \(h)", kind: .badValue) }
            let rows = try finite(d.read(as: Float.self, start: [0, h, 0], count: [n, 1, t]).values, "run '\(run)': \(CacheLayout.lastAttention)", width: t)  // head h only: N x T
            return (0..<n).flatMap { i in Importance.patchScores(Array(rows[(i * t)..<((i + 1) * t)]), prefixTokens: info.prefixTokens) }
        }
        let d = CacheLayout.importance(measure)
        return try finite(file.openDataset(CacheLayout.run(run, d)).read(as: Float.self).values, "run '\(run)': \(d)", width: info.numPatches)
    }
}

/// A model run recorded in a cache.
public struct RunInfo: Equatable, Sendable {
    public let name, arch, weights, weightsSHA256: String
    public let numClasses, embedDim, depth, numHeads, patchSize, imageSize, completed: Int
    /// R for a run on images sent at R x R pixels (the low-resolution baseline), else nil.
    public let lowResolution: Int?
    /// The baseline role a low-resolution or whole-image JPEG run stands for; nil for a plain run.
    public var baseline: RunRole? { lowResolution != nil ? .lowResolution : jpegQuality != nil ? .jpegBaseline : nil }
    /// Whether the server receives the whole image (a baseline run), not patches.
    public var sendsWholeImage: Bool { baseline != nil }
    /// Tokens before the patches (class, distillation, register tokens).
    public var prefixTokens: Int = 1
    /// Whether the second prefix token is a distillation token with its own head (`ViTConfig.distilled`).
    public var distilled = false
    /// Whether the position embedding covers the patches only (`ViTConfig.noEmbedClass`).
    public var noEmbedClass = false
    /// The role recorded at build (`Cache.runRoles` infers the missing ones).
    public var role: RunRole?
    /// Q for a run on images sent whole as a JPEG at quality Q (the whole-image JPEG baseline), else nil.
    public var jpegQuality: Int? = nil
    public var numPatches: Int { (imageSize / patchSize) * (imageSize / patchSize) }
    /// The run's architecture as a configuration (for FLOPs, shapes and
    /// parameter counts): the prefix tokens after the class and distillation
    /// tokens are register tokens.
    public var config: ViTConfig {
        ViTConfig(imageSize: imageSize, patchSize: patchSize, embedDim: embedDim, depth: depth,
                  numHeads: numHeads, numClasses: numClasses, distilled: distilled,
                  registerTokens: prefixTokens - 1 - (distilled ? 1 : 0), noEmbedClass: noEmbedClass)
    }
}

/// Whether a row's image was read (`/images/status`).
public enum ImageStatus: Int8, Sendable {
    case notRead = 0, read = 1, unreadable = 2
}

/// The rows an evaluation uses (`Cache.usableRows`).
public struct RowSelection: Equatable, Sendable {
    /// Row indices, ascending: complete in every run and readable.
    public let rows: [Int]
    /// Rows in the cache.
    public let total: Int
    /// Rows complete in every run asked for (rows 0..<completed).
    public let completed: Int
    /// Unreadable images among the completed rows (skipped).
    public let unreadable: Int
    /// Whether rows not yet built were left out (the user asked for a partial evaluation).
    public var isPartial: Bool { completed < total }
}

/// A cache problem, in one line naming the file, of a kind a caller can switch on.
///
/// Kinds: `notFound` a run, shard, weights file or image that is not where the
/// cache says; `corrupt` a file that is not a cache, or whose datasets and
/// attributes disagree or hold impossible values; `stale` made from other
/// inputs (images, weights, preprocessing, batch, format) than those given
/// now, or changed since; `inUse` being written by another process;
/// `readOnly` no permission to write the cache or its lock; `incomplete` a
/// run not built to the end (or no complete rows); `badValue` an argument
/// that cannot work (no images, unknown architecture, shards that do not
/// fit); `failed` a computation that could not go on (an image unreadable
/// under --strict, a non-finite model output).
public struct CacheError: KindedError {
    public typealias Kind = ErrorKind
    public let kind: Kind
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
    public init(_ path: String, _ reason: String, kind: Kind) {
        self.path = path
        self.reason = reason
        self.kind = kind
    }

    /// An HDF5 failure on the cache at `path`: a missing file is `notFound`;
    /// a file that is not HDF5, is damaged, or lacks or mistypes an object `corrupt`; else `failed`.
    public init(_ path: String, hdf5 e: HDF5Error) {
        let kind: Kind
        switch e.kind {
        case .fileNotFound: kind = .notFound
        case .notHDF5, .corrupt, .notFound, .typeMismatch, .shapeMismatch, .outOfRange: kind = .corrupt
        case .alreadyExists, .invalidArgument, .closed, .library: kind = .failed
        }
        let prefix = e.file + ": "
        self.init(path, e.description.hasPrefix(prefix) ? String(e.description.dropFirst(prefix.count)) : e.description, kind: kind)
    }
}

/// `16384` as `16,384`.
public func thousands(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return (n < 0 ? "-" : "") + out
}
