import Foundation
import HDF5IO
import Safety
import Tensors

/// One shard of a memo plan, computed into a file of its own
/// (`Evaluator.fill(plan:shard:of:into:)`, `semcom memo fill`) and folded into
/// the cache afterwards (`Cache.mergeMemoShards`, `semcom memo merge`).
///
/// The file holds the plan's memo table and its top-5 companion at the same
/// paths and shapes as the cache (N x (P+1), N x (P+1) x 5 int16, -1 where
/// not computed; chunked and compressed, so the rows a shard never touches
/// take no space), and root attributes that say what it is for: the format,
/// the table's path, the server run and the SHA-256 of its weights, the
/// cache's image count, the shard's index and count, the answers it is to
/// compute and whether it has computed them all. It is written like a cache
/// (`CacheWriter`: crash-safe, checkpointed), and a fill run again on an
/// incomplete shard goes on from its last checkpoint.
public struct MemoShard: Sendable {
    public static let format = "semcom-memo-shard"
    static let attributes = (format: "format", key: "memo_table", server: "server", sha: "server_weights_sha256",
                             images: "images", index: "shard_index", count: "shard_count", planned: "planned", complete: "complete")

    public var path: String
    public var index: Int, count: Int
    /// The memo table's path in the cache (`MemoTable.key`).
    public var key: String
    public var server: String, serverWeightsSHA256: String
    /// The cache's image count N.
    public var images: Int
    /// Answers this shard is to compute.
    public var planned: Int

    /// Sets the attributes on a new file, or checks them on an existing one
    /// (a resumed fill): a file made for another plan or shard is an error.
    func mark(_ f: HDF5File) throws {
        let a = Self.attributes
        if try f.hasAttribute(a.format) {
            let found = try Self.read(f, path: path)
            guard (found.key, found.serverWeightsSHA256, found.images, found.index, found.count, found.planned)
                    == (key, serverWeightsSHA256, images, index, count, planned) else {
                throw CacheError(path, "holds shard \(found.index)/\(found.count) of another plan (\(found.planned) answers for \(found.key)); remove it or choose another --out", kind: .badValue)
            }
            return
        }
        try f.setAttribute(a.format, to: Self.format)
        try f.setAttribute(a.key, to: key)
        try f.setAttribute(a.server, to: server)
        try f.setAttribute(a.sha, to: serverWeightsSHA256)
        for (name, value) in [(a.images, images), (a.index, index), (a.count, count), (a.planned, planned), (a.complete, 0)] {
            try f.setAttribute(name, to: Int64(value))
        }
    }

    /// Marks the shard complete and publishes it.
    func complete(_ writer: CacheWriter) throws {
        try writer.file.setAttribute(Self.attributes.complete, to: Int64(1))
        try writer.commit()
    }

    /// The shard described by an open file's attributes, and whether it is complete.
    static func read(_ f: HDF5File, path: String) throws -> MemoShard {
        let a = attributes
        guard (try? f.attribute(a.format, as: String.self)) == format else {
            throw CacheError(path, "not a memo shard (made by `semcom memo fill`)", kind: .badValue)
        }
        do {
            func int(_ name: String) throws -> Int { Int(try f.attribute(name, as: Int64.self)) }
            return MemoShard(path: path, index: try int(a.index), count: try int(a.count), key: try f.attribute(a.key, as: String.self),
                             server: try f.attribute(a.server, as: String.self), serverWeightsSHA256: try f.attribute(a.sha, as: String.self),
                             images: try int(a.images), planned: try int(a.planned))
        } catch {
            throw CacheError(path, "memo shard with damaged attributes: \(errorMessage(error))", kind: .corrupt)
        }
    }
}

extension Evaluator {
    /// Computes shard `index` of `count` of `plan` (`MemoPlan.shard`, balanced
    /// by multiply-adds) into the memo shard file at `path`, which a fill
    /// interrupted before goes on from; answers the cache holds already are
    /// not computed again. Returns the shard as written.
    @discardableResult
    public func fill(plan: MemoPlan, shard index: Int, of count: Int, into path: String) throws -> MemoShard {
        guard count >= 1, (0..<count).contains(index) else { throw PlanError("shard \(index) of \(count): expected 0 <= i < n") }
        if FileIdentity(path) != nil && FileIdentity(path) == FileIdentity(cache.path) {
            throw CacheError(path, "is the cache itself; write the shard to a file of its own", kind: .badValue)
        }
        let info = try cache.run(plan.server)
        guard plan.imageCount == self.count, info.weightsSHA256 == plan.serverWeightsSHA256 else {
            throw CacheError(cache.path, "is not the cache the plan was made for (\(plan.imageCount) images, server '\(plan.server)' with weights \(plan.serverWeightsSHA256.prefix(12))...)", kind: .badValue)
        }
        let ordering = try plan.patchOrdering()
        let p = info.numPatches, config = info.config
        if let k = plan.ks.first(where: { $0 > p }) {
            throw PlanError("asks for the server's answer on \(k) patches; run '\(plan.server)' of \(cache.path) has \(p)")
        }
        let pairs = plan.shard(index, of: count) { config.encoderFLOPs(tokens: config.prefixTokens + $0) }
        let key = MemoTable.key(server: plan.server, ordering: ordering)
        let shard = MemoShard(path: path, index: index, count: count, key: key, server: plan.server,
                              serverWeightsSHA256: plan.serverWeightsSHA256, images: self.count, planned: pairs.count)
        try Threads.with(threads) {
            try fill(key, server: plan.server, ordering: ordering, pairs: pairs.map { ($0.image, $0.k) }, patches: p, shard: shard)
        }
        return shard
    }
}

extension Cache {
    /// Folds complete memo shards of one plan (all `count` of them, any
    /// order) into the cache at `path`, through a `CacheWriter`. The result
    /// equals a fill of the whole plan in one process: every entry is the
    /// server's answer on the same patches; an entry the cache holds already
    /// keeps the cache's answer. Returns the number of entries added (with
    /// the full-image answers, column P, of the rows the shards touched).
    @discardableResult
    public static func mergeMemoShards(_ paths: [String], into path: String) throws -> Int {
        guard !paths.isEmpty else { throw CacheError(path, "no memo shards to merge", kind: .badValue) }
        let cache = try Cache(path: path)
        var shards: [Int: (MemoShard, HDF5File)] = [:]
        var first: MemoShard?
        for p in paths {
            let f = try HDF5File.open(p)
            let s = try MemoShard.read(f, path: p)
            guard (try? f.attribute(MemoShard.attributes.complete, as: Int64.self)) == 1 else {
                throw CacheError(p, "shard \(s.index)/\(s.count) is incomplete: run its `semcom memo fill` again to finish it", kind: .incomplete)
            }
            if let first, (s.key, s.serverWeightsSHA256, s.images, s.count) != (first.key, first.serverWeightsSHA256, first.images, first.count) {
                throw CacheError(p, "is shard \(s.index)/\(s.count) of another plan than \(first.path)", kind: .badValue)
            }
            guard shards[s.index] == nil else { throw CacheError(p, "shard \(s.index) given twice", kind: .badValue) }
            first = first ?? s
            shards[s.index] = (s, f)
        }
        let s0 = first!
        let missing = (0..<s0.count).filter { shards[$0] == nil }
        guard missing.isEmpty else {
            throw CacheError(path, "missing memo shard(s) \(missing.map(String.init).joined(separator: ", ")) of \(s0.count)", kind: .notFound)
        }
        let run = try cache.run(s0.server)
        guard run.weightsSHA256 == s0.serverWeightsSHA256, cache.images.count == s0.images else {
            throw CacheError(path, "is not the cache the shards were computed for (\(s0.images) images, server '\(s0.server)' with weights \(s0.serverWeightsSHA256.prefix(12))...)", kind: .badValue)
        }
        let columns = run.numPatches + 1, n = s0.images
        let writer = try CacheWriter(path: path)
        var added = 0
        do {
            for (table, width) in [(s0.key, columns), (MemoTable.top5Key(s0.key), columns * MemoTable.ranks)] {
                if try !writer.file.contains(table) {
                    if table == s0.key { try MemoTable.create(in: writer.file, key: table, images: n, columns: columns) }
                    else { try MemoTable.createTop5(in: writer.file, key: s0.key, images: n, columns: columns) }
                }
                var values = try writer.file.openDataset(table).read(as: Int16.self).values
                guard values.count == n * width else { throw CacheError(path, "memo table \(table) has \(values.count) entries, expected \(n * width)", kind: .corrupt) }
                for i in 0..<s0.count {
                    let (s, f) = shards[i]!
                    let theirs = try f.openDataset(table).read(as: Int16.self).values
                    guard theirs.count == values.count else { throw CacheError(s.path, "memo table \(table) has \(theirs.count) entries, expected \(values.count)", kind: .corrupt) }
                    // Shards hold disjoint images; an entry the cache holds already (stored
                    // meanwhile by a sweep) keeps the cache's answer.
                    for j in theirs.indices where theirs[j] != -1 && values[j] == -1 {
                        values[j] = theirs[j]
                        if table == s0.key { added += 1 }
                    }
                }
                try writer.file.openDataset(table).write(values)
            }
            try writer.commit()
        } catch {
            writer.abandon()
            throw error
        }
        return added
    }
}
