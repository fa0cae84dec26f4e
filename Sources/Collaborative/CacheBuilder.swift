import Foundation
import HDF5IO
import Imaging
import Tensors
import ViT

/// A model to run into a cache: `NAME=ARCH:WEIGHTS[@R]` on the command line.
public struct ModelSpec: Equatable, Sendable {
    public var name: String
    /// A preset name, or `auto` to read the architecture off the weights.
    public var arch: String
    public var weights: String
    /// `@R`: the model sees every image reduced to R x R pixels and enlarged
    /// back (the low-resolution baseline; `Preprocessing.lowResolution`).
    public var lowResolution: Int?

    public init(name: String, arch: String, weights: String, lowResolution: Int? = nil) {
        self.name = name
        self.arch = arch
        self.weights = weights
        self.lowResolution = lowResolution
    }

    /// Parses `NAME=ARCH:WEIGHTS` or `NAME=ARCH:WEIGHTS@R`.
    public init?(parsing text: String) {
        guard let eq = text.firstIndex(of: "="), let colon = text[eq...].firstIndex(of: ":") else { return nil }
        name = String(text[..<eq])
        arch = String(text[text.index(after: eq)..<colon])
        weights = String(text[text.index(after: colon)...])
        if let at = weights.lastIndex(of: "@"), let r = Int(weights[weights.index(after: at)...]) {
            guard r > 0 else { return nil }
            lowResolution = r
            weights = String(weights[..<at])
        }
        guard !name.isEmpty, !name.contains("/"), !arch.isEmpty, !weights.isEmpty else { return nil }
    }
}

/// Builds (or resumes) a cache: runs every model once over the images, in
/// batches, writing each batch as it completes so an interrupted build
/// resumes where it stopped.
public struct CacheBuilder {
    public var images: ImageList
    public var models: [ModelSpec]
    public var preprocessing = Preprocessing()
    public var batch = 16
    /// Called after each batch with (rows done, rows total).
    public var progress: (Int, Int) -> Void = { _, _ in }
    /// Shard `index` of `count`, recorded in the file for `merge`.
    public var shard: (index: Int, count: Int)?
    /// Stops after this many rows, as an interrupted build would (for tests).
    var stopAfterRows: Int?

    public init(images: ImageList, models: [ModelSpec]) {
        self.images = images
        self.models = models
    }

    /// Writes or completes the cache at `path`. An existing file must hold
    /// the same images, preprocessing, batch size and weights (a stale file
    /// is refused). Images are batched from row 0 in steps of `batch`, so a
    /// resumed or batch-aligned sharded build equals a plain one bit for bit.
    public func build(_ path: String) throws {
        let nets = try models.map { m -> VisionTransformer in
            let expected = m.arch == "auto" ? nil : ViTConfig.named(m.arch)
            if m.arch != "auto" && expected == nil { throw CacheError(path, "model '\(m.name)': unknown architecture '\(m.arch)'") }
            return try VisionTransformer(weightsPath: m.weights, expected: expected)
        }
        for (m, net) in zip(models, nets) where net.config.imageSize != preprocessing.size {
            throw CacheError(path, "model '\(m.name)' takes \(net.config.imageSize) px images, preprocessing gives \(preprocessing.size)")
        }
        for m in models where (m.lowResolution ?? 0) >= preprocessing.size {
            throw CacheError(path, "model '\(m.name)': low resolution @\(m.lowResolution!) must be under the image size \(preprocessing.size)")
        }
        let hashes = try models.map { try sha256Hex(ofFile: $0.weights) }
        let file = FileManager.default.fileExists(atPath: path)
            ? try openForResume(path, hashes: hashes, nets: nets) : try create(path, nets: nets, hashes: hashes)
        let groups = try models.map { try file.openGroup("/runs/\($0.name)") }
        let n = images.count
        var done = try groups.map { Int(try $0.attribute("completed", as: Int64.self)) }
        var start = done.min() ?? n
        progress(start, n)
        while start < min(n, stopAfterRows ?? n) {
            let rows = start..<min(n, start + batch)
            let pending = nets.indices.filter { done[$0] < rows.upperBound }
            let inputs = try loadBatch(rows, resolutions: Set(pending.map { models[$0].lowResolution }))
            for j in pending {
                let net = nets[j]
                let out = net.forward(inputs[models[j].lowResolution]!, rollout: true)
                try write(out, net.config, rows: rows, group: groups[j])
                done[j] = rows.upperBound
                try groups[j].setAttribute("completed", to: Int64(done[j]))
            }
            try file.flush()
            start = rows.upperBound
            progress(start, n)
        }
    }

    /// Network inputs for a batch of rows at each of `resolutions` (nil = full;
    /// `Preprocessing.lowResolution`), B x 3 x S x S each. Every image is decoded
    /// and cropped once, in parallel.
    func loadBatch(_ rows: Range<Int>, resolutions: Set<Int?> = [nil]) throws -> [Int?: Tensor] {
        let s = preprocessing.size, per = 3 * s * s
        let variants = Array(resolutions)
        let pres = variants.map { r -> Preprocessing in
            var p = preprocessing
            p.lowResolution = r
            return p
        }
        var x = [Float](repeating: 0, count: variants.count * rows.count * per)  // variant-major
        var failure: Error?
        let paths = images.paths, batch = rows.count
        x.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            var errors = [Error?](repeating: nil, count: batch)
            errors.withUnsafeMutableBufferPointer { errs in
                parallelFor(batch, costPerItem: 1 << 20) { range in
                    for i in range {
                        do {
                            let crop = try preprocessing.croppedImage(contentsOf: paths[rows.lowerBound + i])
                            for (v, p) in pres.enumerated() {
                                (base + (v * batch + i) * per).update(from: p.networkInput(cropped: crop), count: per)
                            }
                        } catch { errs[i] = error }
                    }
                }
            }
            failure = errors.compactMap { $0 }.first
        }
        if let failure { throw failure }
        var out: [Int?: Tensor] = [:]
        for (v, r) in variants.enumerated() {
            out[r] = Tensor(shape: [batch, 3, s, s], scalars: Array(x[(v * batch * per)..<((v + 1) * batch * per)]))
        }
        return out
    }

    func write(_ out: ViTOutput, _ c: ViTConfig, rows: Range<Int>, group g: HDF5Group) throws {
        try g.openDataset("logits").write(out.logits.scalars, rows: rows)
        try g.openDataset("importance/mean").write(out.meanImportance(prefixTokens: c.prefixTokens).scalars, rows: rows)
        try g.openDataset("importance/rollout").write(out.rollout!.scalars, rows: rows)
        try g.openDataset("importance/textbook").write(out.textbookRollout!.scalars, rows: rows)
        // Last layer's class-token rows: B x H x T out of B x L x H x T.
        let (l, h, t) = (c.depth, c.numHeads, c.numTokens)
        var last: [Float] = []
        last.reserveCapacity(rows.count * h * t)
        for i in 0..<rows.count {
            let start = (i * l + l - 1) * h * t
            last += out.classAttention.scalars[start..<(start + h * t)]
        }
        try g.openDataset("attention/last").write(last, rows: rows)
    }

    func create(_ path: String, nets: [VisionTransformer], hashes: [String]) throws -> HDF5File {
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent()
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let f = try HDF5File.create(path, mode: .failIfExists)
        let n = images.count
        try f.setAttribute("format", to: Cache.format)
        try f.setAttribute("format_version", to: Cache.formatVersion)
        try f.setAttribute("semcom_version", to: semcomLibraryVersion)
        try f.setAttribute("image_size", to: Int64(preprocessing.size))
        try f.setAttribute("crop_pct", to: preprocessing.cropPct)
        try f.setAttribute("batch", to: Int64(batch))
        if let shard {
            try f.setAttribute("shard_index", to: Int64(shard.index))
            try f.setAttribute("shard_count", to: Int64(shard.count))
        }
        try f.createDataset("/images/path", values: images.paths, chunks: [max(1, min(n, 4096))])
        try f.createDataset("/images/label", values: images.labels)
        for ((m, net), hash) in zip(zip(models, nets), hashes) {
            try Self.createRun(in: f, model: m, sha256: hash, config: net.config, images: n)
        }
        try f.flush()
        return f
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
        func make(_ name: String, _ shape: [Int]) throws {
            try g.createDataset(name, of: Float.self, shape: shape,
                                chunks: [max(1, min(n, 64))] + shape.dropFirst(), deflate: 4, shuffle: true)
        }
        try make("logits", [n, c.numClasses])
        for measure in ["mean", "rollout", "textbook"] { try make("importance/\(measure)", [n, c.numPatches]) }
        try make("attention/last", [n, c.numHeads, c.numTokens])
    }

    func openForResume(_ path: String, hashes: [String], nets: [VisionTransformer]) throws -> HDF5File {
        let cache = try Cache(path: path, writable: true)
        guard cache.images == images else {
            throw CacheError(path, "exists with a different image list (\(cache.images.count) images); remove it or use another --out")
        }
        let f = cache.file
        guard try f.attribute("image_size", as: Int64.self) == Int64(preprocessing.size),
              try f.attribute("crop_pct", as: Double.self) == preprocessing.cropPct else {
            throw CacheError(path, "exists with other preprocessing (image_size, crop_pct); remove it or use another --out")
        }
        let built = Int(try f.attribute("batch", as: Int64.self))
        guard built == batch else {
            throw CacheError(path, "was built with --batch \(built); resume it with the same batch size (results depend on the batching at the last bit)")
        }
        let existing = try cache.runNames()
        for ((m, hash), net) in zip(zip(models, hashes), nets) {
            guard existing.contains(m.name) else {  // a model added to an existing cache
                try Self.createRun(in: f, model: m, sha256: hash, config: net.config, images: images.count)
                continue
            }
            let info = try cache.run(m.name)
            guard info.weightsSHA256 == hash else {
                throw CacheError(path, "run '\(m.name)' was made with other weights (sha256 \(info.weightsSHA256.prefix(12))...); remove it or use another --out")
            }
            guard info.lowResolution == m.lowResolution else {
                throw CacheError(path, "run '\(m.name)' was made at another input resolution; remove it or use another --out")
            }
        }
        return f
    }
}

/// The tool's version, recorded in the files it writes.
public let semcomLibraryVersion = "0.1.0"
