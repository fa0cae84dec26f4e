import Foundation
import HDF5IO
import Safety
import ViT
import Wire

extension Cache {
    /// Joins complete shard caches (`cache build --shard i/n`) into one file
    /// whose content equals an unsharded build: images and every run's
    /// datasets concatenated in shard order, the same attributes; memo tables
    /// and coded sizes present in every shard are concatenated too.
    public static func merge(shards paths: [String], into out: String) throws {
        guard !paths.isEmpty else { throw CacheError(out, "no shards to merge", kind: .badValue) }
        for p in paths where FileIdentity(p) != nil && FileIdentity(p) == FileIdentity(out) {
            throw CacheError(out, "is one of the shards being merged; write the merged cache elsewhere", kind: .badValue)
        }
        guard !FileManager.default.fileExists(atPath: out) else { throw CacheError(out, "exists already; remove it or choose another --out", kind: .badValue) }
        let shards = try paths.map { try Cache(path: $0) }
        var ordered: [Int: Cache] = [:]
        var count = -1
        for s in shards {
            guard let i = try? s.file.attribute(CacheLayout.shardIndex, as: Int64.self),
                  let n = try? s.file.attribute(CacheLayout.shardCount, as: Int64.self) else {
                throw CacheError(s.path, "not a shard (built without --shard)", kind: .badValue)
            }
            if count >= 0 && Int(n) != count { throw CacheError(s.path, "is shard \(i)/\(n), others are of \(count)", kind: .badValue) }
            count = Int(n)
            if ordered[Int(i)] != nil { throw CacheError(s.path, "shard \(i) given twice", kind: .badValue) }
            ordered[Int(i)] = s
        }
        let missing = (0..<count).filter { ordered[$0] == nil }
        guard missing.isEmpty else { throw CacheError(out, "missing shard(s) \(missing.map(String.init).joined(separator: ", ")) of \(count)", kind: .notFound) }
        let parts = (0..<count).map { ordered[$0]! }
        let first = parts[0]
        let runs = try first.runNames()
        for s in parts {
            guard try s.runNames() == runs else { throw CacheError(s.path, "has runs \(try s.runNames()), shard 0 has \(runs)", kind: .badValue) }
            guard try s.preprocessing == first.preprocessing else { throw CacheError(s.path, "preprocessing differs from shard 0", kind: .badValue) }
            guard try CacheLayout.batch(of: s.file) == CacheLayout.batch(of: first.file) else {
                throw CacheError(s.path, "attribute \(CacheLayout.batch) differs from shard 0", kind: .badValue)
            }
            for r in runs {
                let a = try s.run(r), b = try first.run(r)
                guard a.weightsSHA256 == b.weightsSHA256, a.arch == b.arch else { throw CacheError(s.path, "run '\(r)' differs from shard 0", kind: .badValue) }
                guard a.completed == s.images.count else {
                    throw CacheError(s.path, "run '\(r)' is incomplete (\(a.completed)/\(s.images.count) images): finish it with cache build", kind: .incomplete)
                }
            }
        }
        let images = ImageList(paths: parts.flatMap(\.images.paths), labels: parts.flatMap(\.images.labels))
        let n = images.count
        let writer = try CacheWriter(path: out, creating: true)
        let f = writer.file
        try CacheLayout.create(in: f, images: images, preprocessing: try first.preprocessing,
                               batch: try CacheLayout.batch(of: first.file),
                               statuses: parts.flatMap(\.status),
                               reasons: try parts.flatMap { try $0.file.openDataset(CacheLayout.errors).read(as: String.self).values },
                               pins: try parts.flatMap { try $0.pins() })
        try f.setAttribute(CacheLayout.semcomVersion, to: try first.file.attribute(CacheLayout.semcomVersion, as: String.self))
        for r in runs {
            let info = try first.run(r)
            var model = ModelSpec(name: r, arch: info.arch, weights: info.weights, lowResolution: info.lowResolution)
            model.jpegQuality = info.jpegQuality
            model.role = info.role
            try CacheLayout.createRun(in: f, model: model, sha256: info.weightsSHA256, config: info.config, images: n, completed: n)
            for d in CacheLayout.runDatasets {
                let target = try f.openDataset(CacheLayout.run(r, d))
                var row = 0
                for s in parts {
                    let v = try s.file.openDataset(CacheLayout.run(r, d)).read(as: Float.self).values
                    try target.write(v, rows: row..<(row + s.images.count))
                    row += s.images.count
                }
            }
        }
        for key in try MemoTable.keys(in: first) where try parts.allSatisfy({ try $0.file.contains(key) }) {
            let columns = try MemoTable.columns(key, in: first)
            var tables = [(key, try MemoTable.create(in: f, key: key, images: n, columns: columns))]
            let key5 = MemoTable.top5Key(key)
            if try parts.allSatisfy({ try $0.file.contains(key5) }) {
                tables.append((key5, try MemoTable.createTop5(in: f, key: key, images: n, columns: columns)))
            }
            for (table, target) in tables {
                var row = 0
                for s in parts {
                    let v = try s.file.openDataset(table).read(as: Int16.self).values
                    try target.write(v, rows: row..<(row + s.images.count))
                    row += s.images.count
                }
            }
        }
        for codec in try first.codecs() where try parts.allSatisfy({ try $0.codecs().contains(codec) }) {
            let tables = try parts.map { try $0.codedSizes(codec) }
            guard let grid = try CacheLayout.codecGrid(codec, in: first.file) else { continue }
            for (s, t) in zip(parts, tables) where t.completed < s.images.count || t.grid != grid {
                throw CacheError(s.path, "codec \(codec) is incomplete or on another patch grid than shard 0's: finish it with cache build", kind: .incomplete)
            }
            try CacheLayout.createCodec(in: f, codec: codec, grid: grid, images: n, completed: n)
            let g = try f.openGroup(CacheLayout.codec(codec))
            if case .jpeg = codec { try g.setAttribute("overhead", to: Int64(tables.map(\.overhead).max()!)) }
            for d in [CacheLayout.patchBytes, CacheLayout.mosaicBytes, CacheLayout.imageBytes] where try g.contains(d) {
                let target = try g.openDataset(d)
                var row = 0
                for s in parts {
                    let v = try s.file.openGroup(CacheLayout.codec(codec)).openDataset(d).read(as: Int32.self).values
                    try target.write(v, rows: row..<(row + s.images.count))
                    row += s.images.count
                }
            }
        }
        try writer.commit()
    }
}
