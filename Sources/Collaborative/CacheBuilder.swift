import Attention
import Foundation
import HDF5IO
import Imaging
import Safety
import Tensors
import ViT
import Wire

/// A model to run into a cache: `NAME=ARCH:WEIGHTS[@R | @jpeg:Q]` on the command line.
public struct ModelSpec: Equatable, Sendable {
    public var name: String
    /// A preset name, or `auto` to read the architecture off the weights.
    public var arch: String
    public var weights: String
    /// `@R`: the model sees every image reduced to R x R pixels and enlarged
    /// back (the low-resolution baseline; `Preprocessing.lowResolution`).
    public var lowResolution: Int?
    /// `@jpeg:Q`: the model sees every image's crop coded as one JPEG at
    /// quality Q and decoded (the whole-image JPEG baseline; `Preprocessing.jpegQuality`).
    public var jpegQuality: Int?
    /// What the run is for (`--role NAME=ROLE`); nil: inferred by size among
    /// the models of the build (`RunRole.inferred`) and recorded.
    public var role: RunRole?

    /// The input this run sees beside the plain crop.
    var variant: InputVariant { InputVariant(lowResolution: lowResolution, jpegQuality: jpegQuality) }

    public init(name: String, arch: String, weights: String, lowResolution: Int? = nil) {
        self.name = name
        self.arch = arch
        self.weights = weights
        self.lowResolution = lowResolution
    }

    /// Parses `NAME=ARCH:WEIGHTS`, `NAME=ARCH:WEIGHTS@R` or `NAME=ARCH:WEIGHTS@jpeg:Q` (Q 1-100).
    public init?(parsing text: String) {
        guard let eq = text.firstIndex(of: "="), let colon = text[eq...].firstIndex(of: ":") else { return nil }
        name = String(text[..<eq])
        arch = String(text[text.index(after: eq)..<colon])
        weights = String(text[text.index(after: colon)...])
        if let at = weights.lastIndex(of: "@") {
            let tail = weights[weights.index(after: at)...]
            if let r = Int(tail) {
                guard r > 0 else { return nil }
                lowResolution = r
                weights = String(weights[..<at])
            } else if tail.hasPrefix("jpeg:") {
                guard let q = Int(tail.dropFirst(5)), (1...100).contains(q) else { return nil }
                jpegQuality = q
                weights = String(weights[..<at])
            }
        }
        guard !name.isEmpty, !name.contains("/"), !arch.isEmpty, !weights.isEmpty else { return nil }
    }
}

/// Builds (or resumes) a cache: runs every model once over the images, in
/// batches. Writes go through a `CacheWriter`: the published file is replaced
/// whole at checkpoints, so an interrupted build (Ctrl-C, SIGTERM, SIGKILL,
/// power loss) leaves the last checkpoint intact, and the same command run
/// again resumes from it and ends with the same datasets, bit for bit.
public struct CacheBuilder {
    public var images: ImageList
    public var models: [ModelSpec]
    public var preprocessing = Preprocessing()
    public var batch = 16
    /// Threads for decoding images and running the models (`Threads`).
    public var threads = 1
    /// Called after each batch with (rows done, rows total).
    public var progress: (Int, Int) -> Void = { _, _ in }
    /// Shard `index` of `count`, recorded in the file for `merge`.
    public var shard: (index: Int, count: Int)?
    /// Stop at the first unreadable image instead of recording it and going on.
    public var strict = false
    /// Seconds between checkpoints (nil: adaptive, see `CacheWriter`).
    public var checkpointInterval: TimeInterval?
    /// Codecs whose coded sizes are recorded per image (`--codec`; `CodedSizes.Record`):
    /// the crop cut into the runs' patches (every run must have the same patch size).
    /// Raw frames are counted exactly and record nothing.
    public var codecs: [Codec] = []
    /// Stops after this many rows, as an interrupted build would (for tests).
    var stopAfterRows: Int?

    public init(images: ImageList, models: [ModelSpec]) {
        self.images = images
        self.models = models
    }

    /// What a build did.
    public struct Report: Equatable, Sendable {
        /// Rows complete in every run, of `total`.
        public var completed, total: Int
        /// Unreadable images recorded in the cache so far (skipped by every evaluation).
        public var unreadable: Int
        /// Seconds spent publishing checkpoints (the cost of crash safety).
        public var publishingSeconds: Double
    }

    /// Writes or completes the cache at `path`. An existing file must hold
    /// the same images, preprocessing, batch size and weights (a stale file
    /// is refused). Images are batched from row 0 in steps of `batch`, so a
    /// resumed or batch-aligned sharded build equals a plain one bit for bit.
    ///
    /// SIGINT or SIGTERM (`Interruption`) stops it after the batch in hand,
    /// with the work so far published: it throws `Interrupted` saying how to resume.
    @discardableResult
    public func build(_ path: String) throws -> Report {
        try Threads.with(threads) { try buildOnThreads(path) }
    }

    private func buildOnThreads(_ path: String) throws -> Report {
        guard images.count > 0 else { throw CacheError(path, "no images to build a cache from", kind: .badValue) }
        guard batch > 0 else { throw CacheError(path, "batch size must be positive", kind: .badValue) }
        let nets = try models.map { try ModelRegistry.load($0.arch, weightsPath: $0.weights) }
        for (m, net) in zip(models, nets) {
            guard net.config.imageSize == preprocessing.size else {
                throw CacheError(path, "model '\(m.name)' takes \(net.config.imageSize) px images, preprocessing gives \(preprocessing.size)", kind: .badValue)
            }
            if m.lowResolution != nil && m.jpegQuality != nil {
                throw CacheError(path, "model '\(m.name)': a run is either at low resolution (@R) or whole-image JPEG (@jpeg:Q), not both", kind: .badValue)
            }
            if let r = m.lowResolution, r >= preprocessing.size {
                throw CacheError(path, "model '\(m.name)': low resolution @\(r) must be under the image size \(preprocessing.size)", kind: .badValue)
            }
            guard net.config.numClasses <= Int(Int16.max) else {
                throw CacheError(path, "model '\(m.name)' has \(net.config.numClasses) classes; the cache's memo stores a class as int16 (at most \(Int16.max))", kind: .badValue)
            }
            if let row = images.labels.firstIndex(where: { $0 >= net.config.numClasses }) {
                throw CacheError(path, "row \(row) (\(images.paths[row])): label \(images.labels[row]) is out of range for model '\(m.name)' (\(net.config.numClasses) classes, labels 0..<\(net.config.numClasses); unknown is an empty label)", kind: .badValue)
            }
        }
        // A whole-image JPEG run's bytes are its images' JPEG sizes: recorded as full-jpeg:Q.
        let runCodecs = models.compactMap { $0.jpegQuality.map { Codec.fullJPEG(quality: $0) } }
        let codecs = (self.codecs + runCodecs).filter { $0 != .raw }.reduce(into: [Codec]()) { if !$0.contains($1) { $0.append($1) } }
        let grid = try codecGrid(codecs, nets: nets, path: path)
        let hashes = try models.map { try sha256Hex(ofFile: $0.weights) }
        let exists = FileManager.default.fileExists(atPath: path)
        let writer = try CacheWriter(path: path, creating: !exists)
        writer.checkpointInterval = checkpointInterval
        if exists {
            try prepareResume(writer, hashes: hashes, nets: nets, codecs: codecs, grid: grid)
        } else {
            try create(writer.file, nets: nets, hashes: hashes, codecs: codecs, grid: grid)
        }
        let n = images.count
        var done = try models.map { try CacheLayout.completedRows($0.name, in: writer.file) }
        var codecDone = try codecs.map { try CacheLayout.completedRows(codec: $0, in: writer.file) }
        let written = try Cache(path: path, file: writer.file)
        var status = written.status
        var pins = try written.pins()
        var start = (done + codecDone).min() ?? n
        progress(start, n)
        do {
            while start < min(n, stopAfterRows ?? n) {
                try Interruption.check()
                let rows = start..<min(n, start + batch)
                let pending = nets.indices.filter { done[$0] < rows.upperBound }
                let pendingCodecs = codecs.indices.filter { codecDone[$0] < rows.upperBound }
                let (inputs, outcomes, records) = try loadBatch(rows, variants: Set(pending.map { models[$0].variant }),
                                                                codecs: pendingCodecs.map { codecs[$0] }, grid: grid,
                                                                status: Array(status[rows]), pins: Array(pins[rows]))
                if strict, let bad = outcomes.indices.first(where: { outcomes[$0].status == .unreadable && status[rows.lowerBound + $0] != .unreadable }) {
                    throw CacheError(path, "row \(rows.lowerBound + bad): \(outcomes[bad].error!) (--strict stops at the first unreadable image)", kind: .failed)
                }
                for j in pending {
                    let net = nets[j]
                    let out = net.forward(inputs[models[j].variant]!, storeAttention: true)
                    if let bad = out.firstNonFiniteImage() {
                        let row = rows.lowerBound + bad
                        throw CacheError(path, "row \(row) (\(images.paths[row])): model '\(models[j].name)' gave a non-finite logit or attention value; nothing of this batch was stored", kind: .failed)
                    }
                    try write(out, net.config, rows: rows, unreadable: outcomes.map { $0.status == .unreadable }, group: writer.file.openGroup(CacheLayout.run(models[j].name)))
                }
                for (c, j) in pendingCodecs.enumerated() {
                    try CacheLayout.writeCodecRows(writer.file, path: path, codec: codecs[j], first: rows.lowerBound, records[c], patches: grid!.count)
                }
                // Batches are read whole, so a batch is either new or known (a run added
                // later reads it again): a known one keeps its pins and reasons as stored.
                if status[rows].contains(.notRead) { try CacheLayout.writeImageRows(writer.file, first: rows.lowerBound, outcomes) }
                for (i, o) in outcomes.enumerated() {
                    status[rows.lowerBound + i] = o.status
                    pins[rows.lowerBound + i] = o.pin
                }
                for j in pending {
                    done[j] = rows.upperBound
                    try CacheLayout.setCompleted(models[j].name, rows: done[j], in: writer.file)
                }
                for j in pendingCodecs {
                    codecDone[j] = rows.upperBound
                    try CacheLayout.setCompleted(codec: codecs[j], rows: codecDone[j], in: writer.file)
                }
                start = rows.upperBound
                try writer.checkpointIfDue()
                progress(start, n)
            }
            try writer.commit()
        } catch {
            // Batches already written are kept: a stop, a changed image, a
            // non-finite output or a full disk loses only the batch in hand.
            try? writer.commit()
            guard var stop = error as? Interrupted else { throw error }
            stop.detail = "\(path) holds \(thousands((done + codecDone).min() ?? n)) of \(thousands(n)) images; run the same command again to resume"
            throw stop
        }
        return Report(completed: (done + codecDone).min() ?? n, total: n, unreadable: status.filter { $0 == .unreadable }.count,
                      publishingSeconds: writer.publishingSeconds)
    }

    /// Network inputs for a batch of rows at each of `resolutions` (nil = full;
    /// `Preprocessing.lowResolution`), B x 3 x S x S each, what reading each
    /// image found (`status` and `pins`: what the cache holds for these rows),
    /// and each of `codecs`' record of each image's crop cut into `grid`
    /// (nil for an unreadable image).
    /// Every image is read, checked against its pin (when it has one) and
    /// cropped once, in parallel. An unreadable image (or one already recorded
    /// as unreadable, which is not read again) gets an all-zero input, so that
    /// the batch keeps its shape; a changed image is an error.
    func loadBatch(_ rows: Range<Int>, variants wanted: Set<InputVariant>, codecs: [Codec] = [], grid: PatchGrid? = nil, status: [ImageStatus],
                   pins: [ImagePin]) throws -> ([InputVariant: Tensor], [ImageOutcome], [[CodedSizes.Record?]]) {
        let s = preprocessing.size, per = 3 * s * s
        let variants = Array(wanted)
        let pres = variants.map { v -> Preprocessing in
            var p = preprocessing
            p.lowResolution = v.lowResolution
            p.jpegQuality = v.jpegQuality
            return p
        }
        var x = [Float](repeating: 0, count: variants.count * rows.count * per)  // variant-major
        let paths = images.paths, batch = rows.count, pre = preprocessing
        var outcomes = [ImageOutcome?](repeating: nil, count: batch)
        var changed = [Error?](repeating: nil, count: batch)
        var records = [[CodedSizes.Record?]](repeating: [CodedSizes.Record?](repeating: nil, count: codecs.count), count: batch)
        x.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            outcomes.withUnsafeMutableBufferPointer { results in
                changed.withUnsafeMutableBufferPointer { errs in
                  records.withUnsafeMutableBufferPointer { coded in
                    parallelFor(batch, costPerItem: 1 << 20) { range in
                        for i in range {
                            let pin = pins[i]
                            if status[i] == .unreadable {
                                results[i] = ImageOutcome(status: .unreadable, error: nil, pin: pin)
                                continue
                            }
                            do {
                                let (crop, found) = try ImageFiles.load(paths[rows.lowerBound + i], preprocessing: pre, expected: pin)
                                for (v, p) in pres.enumerated() {
                                    (base + (v * batch + i) * per).update(from: p.networkInput(cropped: crop), count: per)
                                }
                                if let grid { coded[i] = try codecs.map { try CodedSizes.record(crop, grid: grid, codec: $0) } }
                                results[i] = ImageOutcome(status: .read, error: nil, pin: found)
                            } catch let error as DatasetError where pin != .none {
                                errs[i] = error  // the file changed since it was pinned
                            } catch {
                                results[i] = ImageOutcome(status: .unreadable, error: "\(error)", pin: pin)
                            }
                        }
                    }
                  }
                }
            }
        }
        if let error = changed.compactMap({ $0 }).first { throw error }
        var out: [InputVariant: Tensor] = [:]
        for (v, r) in variants.enumerated() {
            out[r] = Tensor(shape: [batch, 3, s, s], scalars: Array(x[(v * batch * per)..<((v + 1) * batch * per)]))
        }
        let byCodec = codecs.indices.map { c in (0..<batch).map { i in records[i][c] } }
        return (out, outcomes.map { $0! }, byCodec)
    }

    /// The patch grid the codecs cut crops into: the runs' common patch size
    /// (nil without codecs). A jpeg:Q codec needs patches of a multiple of 8 px.
    func codecGrid(_ codecs: [Codec], nets: [any ImageClassifier], path: String) throws -> PatchGrid? {
        guard !codecs.isEmpty else { return nil }
        let sizes = Set(nets.map(\.config.patchSize))
        let mosaics = codecs.contains { !$0.isWholeImage }
        // Whole-image codecs only record the crop's size: the grid just describes it.
        guard sizes.count == 1 || !mosaics, let size = sizes.min() else {
            throw CacheError(path, "--codec needs every run to have the same patch size; they have \(sizes.sorted().map { "\($0) px" }.joined(separator: ", "))", kind: .badValue)
        }
        guard preprocessing.size % size == 0 else {
            throw CacheError(path, "--codec: \(preprocessing.size) px images do not divide into \(size) px patches", kind: .badValue)
        }
        if Codec.mosaicChroma(patchSize: size) == nil, let c = codecs.first(where: { if case .jpeg = $0 { return true } else { return false } }) {
            throw CacheError(path, "--codec \(c): patch mosaics need patches of a multiple of 8 px, the runs' are \(size) px", kind: .badValue)
        }
        return PatchGrid(patchSize: size, columns: preprocessing.size / size, rows: preprocessing.size / size)
    }

    /// Stores a batch's outputs; rows of unreadable images get zeros.
    func write(_ out: ViTOutput, _ c: ViTConfig, rows: Range<Int>, unreadable: [Bool], group g: HDF5Group) throws {
        func masked(_ values: [Float]) -> [Float] {
            guard unreadable.contains(true) else { return values }
            let width = values.count / rows.count
            var v = values
            for (i, bad) in unreadable.enumerated() where bad { v.replaceSubrange((i * width)..<((i + 1) * width), with: repeatElement(0, count: width)) }
            return v
        }
        // Last layer's class-token rows: B x H x T out of B x L x H x T.
        let (l, h, t) = (c.depth, c.numHeads, c.numTokens)
        var last: [Float] = []
        last.reserveCapacity(rows.count * h * t)
        for i in 0..<rows.count {
            let start = (i * l + l - 1) * h * t
            last += out.classAttention.scalars[start..<(start + h * t)]
        }
        let prefix = c.prefixTokens
        let values = [out.logits.scalars, Importance.mean(classAttention: out.classAttention, prefixTokens: prefix).scalars,
                      Importance.rollout(attention: out.attention!, prefixTokens: prefix).scalars,
                      Importance.textbookRollout(attention: out.attention!, prefixTokens: prefix).scalars, last]
        for (name, v) in zip(CacheLayout.runDatasets, values) {
            try g.openDataset(name).write(masked(v), rows: rows)
        }
    }

    func create(_ f: HDF5File, nets: [any ImageClassifier], hashes: [String], codecs: [Codec], grid: PatchGrid?) throws {
        try CacheLayout.create(in: f, images: images, preprocessing: preprocessing, batch: batch)
        if let shard {
            try f.setAttribute(CacheLayout.shardIndex, to: Int64(shard.index))
            try f.setAttribute(CacheLayout.shardCount, to: Int64(shard.count))
        }
        let roles = withRoles(models, nets)
        for ((m, net), hash) in zip(zip(roles, nets), hashes) {
            try CacheLayout.createRun(in: f, model: m, sha256: hash, config: net.config, images: images.count)
        }
        for c in codecs { try CacheLayout.createCodec(in: f, codec: c, grid: grid!, images: images.count) }
    }

    /// `models` with their roles: as given, else inferred by size among them.
    func withRoles(_ models: [ModelSpec], _ nets: [any ImageClassifier]) -> [ModelSpec] {
        let given = Dictionary(models.compactMap { m in m.role.map { (m.name, $0) } }, uniquingKeysWith: { a, _ in a })
        let inferred = RunRole.inferred(zip(models, nets).map { ($0.name, $1.config.parameterCount, $0.variant.baseline) }, taken: given)
        return models.map { m in var m = m; m.role = m.role ?? inferred[m.name]; return m }
    }

    /// Checks that the cache being resumed was made from the same inputs, and adds new runs.
    func prepareResume(_ writer: CacheWriter, hashes: [String], nets: [any ImageClassifier], codecs: [Codec], grid: PatchGrid?) throws {
        let path = writer.path
        let cache = try Cache(path: path, file: writer.file)
        guard cache.images == images else {
            throw CacheError(path, "exists with a different image list (\(cache.images.count) images); remove it or use another --out", kind: .stale)
        }
        let f = writer.file
        let built = try CacheLayout.preprocessing(of: f, path: path)
        guard built.size == preprocessing.size, built.cropPct == preprocessing.cropPct, built.mean == preprocessing.mean, built.std == preprocessing.std else {
            throw CacheError(path, "exists with other preprocessing (image_size, crop_pct, mean, std); remove it or use another --out", kind: .stale)
        }
        let builtBatch = try CacheLayout.batch(of: f)
        guard builtBatch == batch else {
            throw CacheError(path, "was built with --batch \(builtBatch); resume it with the same batch size (results depend on the batching at the last bit)", kind: .stale)
        }
        let existing = try cache.runNames()
        for ((m, hash), net) in zip(zip(models, hashes), nets) {
            guard existing.contains(m.name) else {  // a model added to an existing cache
                try CacheLayout.createRun(in: f, model: m, sha256: hash, config: net.config, images: images.count)
                continue
            }
            let info = try cache.run(m.name)
            guard info.weightsSHA256 == hash else {
                throw CacheError(path, "run '\(m.name)' was made with other weights (sha256 \(info.weightsSHA256.prefix(12))...); remove it or use another --out", kind: .stale)
            }
            guard info.lowResolution == m.lowResolution, info.jpegQuality == m.jpegQuality else {
                throw CacheError(path, "run '\(m.name)' was made at another input resolution or JPEG quality; remove it or use another --out", kind: .stale)
            }
        }
        let recorded = try CacheLayout.codecNames(in: f)
        for c in codecs {
            guard recorded.contains(c) else {  // a codec added to an existing cache
                try CacheLayout.createCodec(in: f, codec: c, grid: grid!, images: images.count)
                continue
            }
            guard try CacheLayout.codecGrid(c, in: f) == grid else {
                throw CacheError(path, "codec \(c) was recorded with another patch grid; remove it or use another --out", kind: .stale)
            }
        }
    }
}

/// What a run sees of each image besides the crop's normalisation: the
/// crop reduced and enlarged back (`lowResolution`) or through a JPEG at
/// `jpegQuality`; neither for a plain run.
struct InputVariant: Hashable {
    var lowResolution: Int?
    var jpegQuality: Int?
    /// Which baseline role such a run takes (nil for a plain run).
    var baseline: RunRole? { lowResolution != nil ? .lowResolution : jpegQuality != nil ? .jpegBaseline : nil }
}

/// The tool's version, recorded in the files it writes.
public let semcomLibraryVersion = "0.1.0"
