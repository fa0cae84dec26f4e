import Foundation
import Attention
import HDF5IO
import ViT

/// The cache file: every model run once over a list of images, plus the
/// server's memoised predictions on patch prefixes. Schema (format version 1):
///
///     /                           attrs format="semcom-cache", format_version, semcom_version,
///                                 image_size, crop_pct, batch (shards also shard_index, shard_count)
///     /images/path                N strings
///     /images/label               N int32 (-1 = unknown)
///     /runs/NAME                  attrs arch, weights, weights_sha256, num_classes, embed_dim,
///                                 depth, num_heads, patch_size, completed (rows written),
///                                 low_resolution (only on low-resolution runs: side R in pixels)
///     /runs/NAME/logits           N x C float32
///     /runs/NAME/importance/mean      N x P float32  (last-layer class attention, head mean)
///     /runs/NAME/importance/rollout   N x P float32  (the authors' rollout)
///     /runs/NAME/importance/textbook  N x P float32  (Abnar and Zuidema's rollout)
///     /runs/NAME/attention/last   N x H x T float32  (last-layer class-token rows, T = 1 + P)
///     /memo/SERVER/ORDERING       N x (P+1) int16: the server's class on the first k patches
///                                 of ORDERING (column k), -1 = not computed yet
///
/// ORDERING is `RUN:MEASURE` (e.g. `tiny:mean`) or `random:SEED`.
public final class Cache {
    public static let format = "semcom-cache"
    public static let formatVersion: Int64 = 1

    public let path: String
    public let file: HDF5File
    public let images: ImageList

    /// Opens an existing cache (read-write when `writable`).
    public init(path: String, writable: Bool = false) throws {
        self.path = path
        file = try HDF5File.open(path, mode: writable ? .readWrite : .readOnly)
        guard (try? file.attribute("format", as: String.self)) == Cache.format else {
            throw CacheError(path, "not a semcom cache (no format=\(Cache.format) attribute)")
        }
        let version = try file.attribute("format_version", as: Int64.self)
        guard version == Cache.formatVersion else {
            throw CacheError(path, "cache format version \(version), this semcom reads \(Cache.formatVersion): rebuild it")
        }
        images = ImageList(paths: try file.openDataset("/images/path").read(as: String.self).values,
                           labels: try file.openDataset("/images/label").read(as: Int32.self).values)
    }

    /// Names of the model runs.
    public func runNames() throws -> [String] {
        try file.contains("/runs") ? try file.openGroup("/runs").members() : []
    }

    /// A run's recorded description, or an error naming the runs that exist.
    public func run(_ name: String) throws -> RunInfo {
        guard try file.contains("/runs/\(name)") else {
            throw CacheError(path, "no run '\(name)'; runs: \(try runNames().joined(separator: ", "))")
        }
        let g = try file.openGroup("/runs/\(name)")
        func int(_ k: String) throws -> Int { Int(try g.attribute(k, as: Int64.self)) }
        return RunInfo(name: name, arch: try g.attribute("arch", as: String.self),
                       weights: try g.attribute("weights", as: String.self),
                       weightsSHA256: try g.attribute("weights_sha256", as: String.self),
                       numClasses: try int("num_classes"), embedDim: try int("embed_dim"), depth: try int("depth"),
                       numHeads: try int("num_heads"), patchSize: try int("patch_size"),
                       imageSize: Int(try file.attribute("image_size", as: Int64.self)),
                       completed: try int("completed"),
                       lowResolution: try g.hasAttribute("low_resolution") ? try int("low_resolution") : nil)
    }

    /// N x C logits of a run.
    public func logits(_ run: String) throws -> [Float] {
        try file.openDataset("/runs/\(run)/logits").read(as: Float.self).values
    }

    /// N x P importance scores of a run: `mean`, `rollout`, `textbook`, or
    /// `head:I` (head I's last-layer class-token row over the patches, renormalised).
    public func importance(_ run: String, measure: String) throws -> [Float] {
        if measure.hasPrefix("head:") {
            guard let h = Int(measure.dropFirst(5)) else { throw CacheError(path, "bad measure '\(measure)'") }
            let d = try file.openDataset("/runs/\(run)/attention/last")
            let shape = try d.shape
            let (n, heads, t) = (shape[0], shape[1], shape[2])
            guard (0..<heads).contains(h) else { throw CacheError(path, "run '\(run)' has heads 0..<\(heads), asked head \(h)") }
            let rows = try d.read(as: Float.self, start: [0, h, 0], count: [n, 1, t]).values  // head h only: N x T
            return (0..<n).flatMap { i in Importance.patchScores(Array(rows[(i * t)..<((i + 1) * t)]), prefixTokens: 1) }
        }
        let dataset = "/runs/\(run)/importance/\(measure)"
        guard try file.contains(dataset) else {
            throw CacheError(path, "run '\(run)' has no measure '\(measure)'; measures: mean, rollout, textbook, head:I")
        }
        return try file.openDataset(dataset).read(as: Float.self).values
    }
}

/// A model run recorded in a cache.
public struct RunInfo: Equatable, Sendable {
    public let name, arch, weights, weightsSHA256: String
    public let numClasses, embedDim, depth, numHeads, patchSize, imageSize, completed: Int
    /// R for a run on images sent at R x R pixels (the low-resolution baseline), else nil.
    public let lowResolution: Int?
    public var numPatches: Int { (imageSize / patchSize) * (imageSize / patchSize) }
    /// The run's architecture as a configuration (for FLOPs, shapes and parameter counts).
    public var config: ViTConfig {
        ViTConfig(imageSize: imageSize, patchSize: patchSize, embedDim: embedDim, depth: depth,
                  numHeads: numHeads, numClasses: numClasses)
    }
}

/// A cache problem, in one line naming the file.
public struct CacheError: Error, CustomStringConvertible {
    public let description: String
    public init(_ path: String, _ reason: String) { description = "\(path): \(reason)" }
}
