import Attention
import Entropy
import Foundation
import Wire
import HDF5IO
import Imaging
import Safety
import Tensors
import ViT

/// One operating point of Algorithm 1 over a cache.
public struct Setting: Equatable, Sendable {
    public var edge: String
    public var server: String
    /// Whose importance orders the patches (`measure`), unless the rule is random.
    public var encoder: String
    public var measure: ImportanceMeasure
    public var rule: SelectionRule
    public var gate: Gate
    /// Seed of the random ordering used by `random:K`.
    public var seed: UInt64 = 0
    /// Temperature applied to the edge logits before the gate's softmax.
    public var temperature: Double = 1
    /// How a sent image's patches are counted in bytes (`bytesPerImage`, the
    /// uplink time): nil, the paper's count (3 bytes a pixel of each kept patch
    /// and a P-bit mask); `raw` or `jpeg:Q`, the wire frame (docs/wire.md:
    /// header, indices, payload; jpeg:Q from the sizes a cache build recorded).
    public var codec: Codec?

    public init(edge: String, server: String, encoder: String? = nil, measure: ImportanceMeasure = .mean,
                rule: SelectionRule = .sum(0.97), gate: Gate = .minEntropy(0.8)) {
        self.edge = edge
        self.server = server
        self.encoder = encoder ?? edge
        self.measure = measure
        self.rule = rule
        self.gate = gate
    }

    /// The ordering the rule takes a prefix of.
    public var ordering: PatchOrdering {
        rule.isRandom ? .random(seed: seed) : .measure(run: encoder, measure: measure)
    }
}

/// The latency model of the paper's Figs. 15-16: edge time always; for a sent
/// image, uplink time for its bytes and server time scaled by eq. 9's FLOPs.
public struct LatencyModel: Equatable, Sendable {
    /// Edge inference per image (DeiT-Tiny on a phone NPU).
    public var edgeMs = 10.99
    /// Server inference per image on all tokens (DeiT-Base on a desktop GPU).
    public var serverMs = 8.32
    /// Uplink rate in Mbit/s.
    public var uplinkMbps = 8.0
    public init() {}

    /// Milliseconds one byte takes on the uplink: 8 / (rate x 10^6) x 1000.
    public var msPerByte: Double { 8 / (uplinkMbps * 1e6) * 1e3 }
}

/// What `evaluate` reports. Fractions are in [0, 1] of the images evaluated;
/// accuracies are over those with a known label (NaN when there are none).
public struct Evaluation: Equatable, Sendable {
    public var accuracy, edgeAccuracy, serverAccuracy: Double
    public var sentFraction: Double
    /// Mean patches per sent image (0 when nothing is sent); for a low-resolution
    /// server run, the fractional patch-equivalent P (R/S)^2 of the bytes it is sent.
    public var patchesPerSent: Double
    /// sentFraction x patchesPerSent / P.
    public var commCost: Double
    /// Mean bytes sent per image evaluated (0 for an image kept on the edge),
    /// counted as `Setting.codec` says.
    public var bytesPerImage: Double
    /// Mean server GFLOPs per image (eq. 9 on 1 + k tokens; 0 for images kept on the edge).
    public var serverGFLOPs: Double
    /// Mean latency per image and its parts, in ms.
    public var latencyMs, edgeMs, uplinkMs, serverMs: Double
    /// Images evaluated: complete in every run used, and readable.
    public var images: Int
    public var labelled: Int
    /// Images in the cache.
    public var totalImages: Int
    /// Unreadable images among the completed rows (left out).
    public var unreadableImages: Int
    /// Whether rows not yet built were left out (asked for with `allowPartial`).
    public var partial: Bool
    /// Images kept on the edge (not sent), as the authors' code counts them.
    public var confidentImages: Int
    /// Over the sent images that keep a patch: the mean of the smallest kept
    /// patch score; over all sent images: the mean sum of the kept scores
    /// (importance scores sum to 1 per image). NaN when nothing is sent, and
    /// for a low-resolution server run.
    public var meanMinAttention, meanAttentionSum: Double
    /// Top-5 accuracy: collaborative (the edge's five classes for a kept
    /// image, the server's on the kept patches for a sent one), of the edge
    /// alone and of the server alone on full images.
    public var accuracyTop5, edgeAccuracyTop5, serverAccuracyTop5: Double

    /// Every number above by its one name, in one order: the columns of every
    /// CSV and the keys of every JSON object an evaluation is written to
    /// (`partial` as 0 or 1).
    public var namedValues: KeyValuePairs<String, Double> {
        ["accuracy": accuracy, "edge_accuracy": edgeAccuracy, "server_accuracy": serverAccuracy,
         "sent_fraction": sentFraction, "patches_per_sent": patchesPerSent, "comm_cost": commCost,
         "bytes_per_image": bytesPerImage, "server_gflops": serverGFLOPs, "latency_ms": latencyMs, "edge_ms": edgeMs, "uplink_ms": uplinkMs,
         "server_ms": serverMs, "images": Double(images), "labelled": Double(labelled), "total_images": Double(totalImages),
         "unreadable_images": Double(unreadableImages), "partial": partial ? 1 : 0,
         "confident_images": Double(confidentImages), "mean_min_attention": meanMinAttention,
         "mean_attention_sum": meanAttentionSum, "accuracy_top5": accuracyTop5, "edge_accuracy_top5": edgeAccuracyTop5,
         "server_accuracy_top5": serverAccuracyTop5]
    }

    /// Every value equal, a NaN equal to a NaN (an undefined mean is the same answer).
    public static func == (a: Evaluation, b: Evaluation) -> Bool {
        zip(a.namedValues, b.namedValues).allSatisfy { $0.value == $1.value || ($0.value.isNaN && $1.value.isNaN) }
    }

    /// The names of `namedValues`, in order.
    public static var valueNames: [String] {
        Evaluation(accuracy: 0, edgeAccuracy: 0, serverAccuracy: 0, sentFraction: 0, patchesPerSent: 0, commCost: 0,
                   bytesPerImage: 0, serverGFLOPs: 0, latencyMs: 0, edgeMs: 0, uplinkMs: 0, serverMs: 0, images: 0, labelled: 0,
                   totalImages: 0, unreadableImages: 0, partial: false, confidentImages: 0, meanMinAttention: 0,
                   meanAttentionSum: 0, accuracyTop5: 0, edgeAccuracyTop5: 0, serverAccuracyTop5: 0).namedValues.map(\.key)
    }

    /// One line saying which images the numbers are over, when not every image
    /// of the cache: a partial evaluation, unreadable images left out; else nil.
    public var coverage: String? {
        guard partial || unreadableImages > 0 else { return nil }
        var parts = ["over \(thousands(images)) of \(thousands(totalImages)) images"]
        if partial { parts.append("completed rows only (partial: some runs are not built to the end)") }
        if unreadableImages > 0 { parts.append("\(unreadableImages) unreadable image(s) left out") }
        return parts.joined(separator: "; ")
    }
}

/// Algorithm 1 over a cache, with the server's answers memoised per
/// (server, ordering, image, k) and computed on demand.
public final class Evaluator {
    public let cache: Cache
    public var latency = LatencyModel()
    /// Images per server forward pass when filling the memo.
    public var batch = 16
    /// Threads for decoding images and running the server when filling the memo (`Threads`).
    public var threads = 1
    /// Called while filling the memo with (done, total) server runs.
    public var progress: (Int, Int) -> Void = { _, _ in }
    /// Evaluate the rows built so far when a run is incomplete, instead of refusing.
    public var allowPartial = false
    /// Seconds between checkpoints of a memo fill (nil: adaptive, see `CacheWriter`).
    public var checkpointInterval: TimeInterval?
    /// Planning mode: an evaluation that would compute server answers adds
    /// them to this planner and throws `PlannedAnswers` instead.
    public var planner: MemoPlanner?
    /// Images a memo fill decodes at a time: their answers of equal k are
    /// batched together (256 DeiT inputs at 224 px are 154 MB).
    var imagesPerChunk = 256

    private var orderings: [PatchOrdering: SortedScores] = [:]
    private var memos: [String: MemoEntries] = [:]
    /// Frame bytes by image and k (`frameBytes`), per codec and ordering,
    /// and which images' rows are filled in.
    private var frameByteTables: [String: (bytes: [Int32], filled: [Bool])] = [:]
    private var servers: [String: any ImageClassifier] = [:]
    private var predictions: [String: [Int32]] = [:]
    private var gateScores: [String: [Double]] = [:]
    private var logits: [String: [Float]] = [:]
    private var topFive: [String: [Bool]] = [:]

    public init(cache: Cache) { self.cache = cache }

    public var count: Int { cache.images.count }

    /// The argmax class of every image for a run.
    public func predictions(_ run: String) throws -> [Int32] {
        if let p = predictions[run] { return p }
        let info = try cache.run(run)
        let logits = try runLogits(run)
        let c = info.numClasses
        let p = (0..<count).map { i -> Int32 in
            var best = 0
            for j in 1..<c where logits[i * c + j] > logits[i * c + best] { best = j }
            return Int32(best)
        }
        predictions[run] = p
        return p
    }

    /// Per image: whether its label is among the run's 5 largest logits (ties:
    /// the lower class first); false when unlabelled.
    func topFiveHits(_ run: String) throws -> [Bool] {
        if let h = topFive[run] { return h }
        let c = try cache.run(run).numClasses
        let logits = try runLogits(run)
        let labels = cache.images.labels
        let hits = (0..<count).map { i in
            labels[i] >= 0 && topK(logits[(i * c)..<((i + 1) * c)], 5).contains { $0.index == Int(labels[i]) }
        }
        topFive[run] = hits
        return hits
    }

    /// A run's N x C logits, read from the cache once.
    func runLogits(_ run: String) throws -> [Float] {
        if let l = logits[run] { return l }
        let l = try cache.logits(run)
        logits[run] = l
        return l
    }

    /// The gate's uncertainty score per image of the edge run (larger = less
    /// confident), or nil for `Gate.none`.
    public func gateScores(_ edge: String, _ gate: Gate, temperature: Double = 1) throws -> [Double]? {
        if gate == .none { return nil }
        let key = "\(edge)|\(gate.with(threshold: 0))|\(temperature)"
        if let s = gateScores[key] { return s }
        let c = try cache.run(edge).numClasses
        let logits = try runLogits(edge)
        let s = (0..<count).map { i in
            gate.score(Uncertainty.probabilities(logits[(i * c)..<((i + 1) * c)], temperature: temperature))!
        }
        gateScores[key] = s
        return s
    }

    /// Each image's patches in order and their scores, sorted descending.
    func sorted(_ ordering: PatchOrdering, patches p: Int) throws -> SortedScores {
        if let s = orderings[ordering] { return s }
        let s: SortedScores
        switch ordering {
        case .measure(let run, let measure):
            s = SortedScores(scores: try cache.importance(run, measure: measure), images: count, patches: p)
        case .random(let seed):
            s = SortedScores(randomSeed: seed, images: count, patches: p)
        }
        orderings[ordering] = s
        return s
    }

    /// k per image under `rule` for `ordering`.
    public func keptPatches(_ rule: SelectionRule, ordering: PatchOrdering, patches p: Int) throws -> [Int] {
        try sorted(ordering, patches: p).keep([rule])[0].map(Int.init)
    }

    /// Image i's patches in the setting's ordering (kept patches are a prefix).
    public func keptOrder(_ setting: Setting, image i: Int, patches p: Int) throws -> [Int] {
        try sorted(setting.ordering, patches: p).order[(i * p)..<((i + 1) * p)].map(Int.init)
    }

    /// The server's five most likely classes, best first, on image `i`'s
    /// patches kept by the setting's rule (the memo's entry, computed and
    /// stored when missing); for a low-resolution server, on the whole image
    /// at its resolution.
    public func serverTopFive(_ setting: Setting, image i: Int) throws -> [Int] {
        let server = try cache.run(setting.server)
        if server.sendsWholeImage {
            let c = server.numClasses
            return topK(try runLogits(setting.server)[(i * c)..<((i + 1) * c)], MemoTable.ranks).map(\.index)
        }
        let p = server.numPatches
        let k = try keptPatches(setting.rule, ordering: setting.ordering, patches: p)[i]
        let key = MemoTable.key(server: setting.server, ordering: setting.ordering, codec: setting.codec)
        let j = i * (p + 1) + k
        if !(try loadMemo(key, server: setting.server, patches: p, codec: setting.codec)).has(j) {
            try Threads.with(threads) { try fill(key, server: setting.server, ordering: setting.ordering, pairs: [(i, k)], patches: p, codec: setting.codec) }
        }
        let top5 = memos[key]!.top5[(j * MemoTable.ranks)..<((j + 1) * MemoTable.ranks)]
        return top5.filter { $0 >= 0 }.map(Int.init)
    }

    /// Evaluates one setting, computing missing server answers first; the
    /// latency under `latency` (default: the evaluator's model).
    public func evaluate(_ setting: Setting, latency: LatencyModel? = nil) throws -> Evaluation {
        try sweep(setting, ruleParameters: nil, gateThresholds: nil, latency: latency)[0]
    }

    /// Evaluates `setting` on the grid ruleParameters x gateThresholds (nil
    /// keeps the setting's own value), row-major over the rule parameter.
    /// Costs O(N) per rule parameter plus O(log N) per grid point, once the
    /// memo holds the needed entries.
    public func sweep(_ setting: Setting, ruleParameters: [Double]?, gateThresholds: [Double]?,
                      latency: LatencyModel? = nil) throws -> [Evaluation] {
        let latency = latency ?? self.latency
        let server = try cache.run(setting.server)
        let p = server.numPatches
        let d = try demand(setting, ruleParameters: ruleParameters, gateThresholds: gateThresholds)
        let selection = d.selection, rows = selection.rows, n = rows.count
        let (byScore, sentCounts, maxSent, mayBeSent, order, keptByRule) = (d.byScore, d.sentCounts, d.maxSent, d.mayBeSent, d.order, d.keptByRule)
        let labels = cache.images.labels
        let edgePred = try predictions(setting.edge)
        let serverPred = try predictions(setting.server)
        let labelled = rows.filter { labels[$0] >= 0 }.count
        var edgeCorrect = [Bool](repeating: false, count: count)
        for i in rows { edgeCorrect[i] = labels[i] >= 0 && edgePred[i] == labels[i] }
        let edgeAccuracy = Double(rows.filter { edgeCorrect[$0] }.count) / Double(labelled)
        let serverAccuracy = Double(rows.filter { labels[$0] >= 0 && serverPred[$0] == labels[$0] }.count) / Double(labelled)
        let (edgeTop5, serverTop5) = (try topFiveHits(setting.edge), try topFiveHits(setting.server))
        let edgeAccuracyTop5 = Double(rows.filter { edgeTop5[$0] }.count) / Double(labelled)
        let serverAccuracyTop5 = Double(rows.filter { serverTop5[$0] }.count) / Double(labelled)

        // `stops`: the distinct numbers of images sent (prefixes of byScore), ascending.
        let stops = Array(Set(sentCounts)).sorted()
        let stopOf = sentCounts.map { m in stops.firstIndex(of: m)! }

        let ordering = setting.ordering
        let memoKey = MemoTable.key(server: setting.server, ordering: ordering, codec: setting.codec)
        let config = server.config
        // Per k: server FLOPs (eq. 9 on prefix + k tokens), uplink time, server time.
        let fullFLOPs = config.encoderFLOPs(tokens: config.numTokens)
        let flopsByK = (0...p).map { config.encoderFLOPs(tokens: config.prefixTokens + $0) }
        let bytesPerPatch = Double(server.patchSize * server.patchSize * 3)
        // A baseline server run receives the whole image, and rules do not apply to it:
        // at low resolution R x R pixels, as many bytes as p (R/S)^2 patches and no
        // position bits; as a JPEG at quality Q, the whole-image frame (`wholeImageFrames`),
        // p x its bytes / the crop's raw bytes in patch-equivalents.
        let lowResolution = server.lowResolution.map { Double($0 * $0) / Double(server.imageSize * server.imageSize) }
        let wholeImage = server.sendsWholeImage
        let bytesByK = (0...p).map { lowResolution.map { f in Double(p) * f * bytesPerPatch } ?? Double($0) * bytesPerPatch + Double(p) / 8 }
        let jpegFrames = try server.jpegQuality.map { try wholeImageFrames(quality: $0, rows: rows) }
        let frameBytes = wholeImage ? nil : try setting.codec.map { try self.frameBytes($0, setting: setting, server: server, rows: rows) }
        let rawImageBytes = Double(server.imageSize * server.imageSize * 3)
        let msPerByte = latency.msPerByte
        let serverByK = flopsByK.map { latency.serverMs * $0 / fullFLOPs }
        var results: [Evaluation] = []
        var serverCorrect = [Bool](repeating: false, count: count), serverCorrectTop5 = serverCorrect
        // Per sent image keeping a patch: the smallest kept score and the kept scores' sum (NaN for a low-resolution server).
        var smallestKept = [Double](repeating: .nan, count: count), keptTotal = smallestKept
        if !wholeImage {  // every missing server answer of the grid, in one pass over the images
            let missing = try missingPairs(memoKey, server: setting.server, kept: keptByRule, sent: mayBeSent, patches: p, codec: setting.codec)
            if !missing.isEmpty {
                try Threads.with(threads) { try fill(memoKey, server: setting.server, ordering: ordering, pairs: missing, patches: p, codec: setting.codec) }
            }
        }
        for k in keptByRule {
            if wholeImage {
                for i in rows {
                    serverCorrect[i] = labels[i] >= 0 && serverPred[i] == labels[i]
                    serverCorrectTop5[i] = serverTop5[i]
                }
            } else {
                let memo = memos[memoKey]!, order = order!
                let r = MemoTable.ranks
                // In index order, so that the memo's and the scores' rows are read sequentially.
                for i in rows where mayBeSent[i] {
                    let ki = Int(k[i]), j = i * (p + 1) + ki
                    let rank = memo.labelRank[j]
                    serverCorrect[i] = rank == 0
                    serverCorrectTop5[i] = rank >= 0 && rank < r
                    if ki > 0 {
                        smallestKept[i] = Double(order.scores[i * p + ki - 1])
                        keptTotal[i] = order.cumulative[i * p + ki - 1]
                    }
                }
            }
            // Totals over the first m images of byScore (the images sent), at each stop m.
            var totals = SentTotals(), atStop = [SentTotals](repeating: SentTotals(), count: stops.count), next = 0
            while next < stops.count && stops[next] == 0 { next += 1 }
            for (j, i) in byScore.prefix(maxSent).enumerated() {
                let ki = Int(k[i])
                if ki > 0 {
                    totals.smallestKept += smallestKept[i]
                    totals.keeping += 1
                    totals.keptSum += keptTotal[i]
                }
                totals.gain += (serverCorrect[i] ? 1 : 0) - (edgeCorrect[i] ? 1 : 0)
                totals.gainTop5 += (serverCorrectTop5[i] ? 1 : 0) - (edgeTop5[i] ? 1 : 0)
                if let jpegFrames {
                    totals.patches += Double(p) * Double(jpegFrames[i] - WireImage.headerBytes) / rawImageBytes
                    totals.bytes += Double(jpegFrames[i])
                } else {
                    totals.patches += lowResolution.map { Double(p) * $0 } ?? Double(ki)
                    totals.bytes += frameBytes.map { Double($0[i * (p + 1) + ki]) } ?? bytesByK[ki]
                }
                totals.flops += flopsByK[ki]
                totals.serverTime += serverByK[ki]
                while next < stops.count && stops[next] == j + 1 { atStop[next] = totals; next += 1 }
            }
            for (t, m) in sentCounts.enumerated() {
                let s = atStop[stopOf[t]]
                let images = Double(n)
                let perSent = m > 0 ? s.patches / Double(m) : 0
                let up = s.bytes * msPerByte / images, sv = s.serverTime / images
                results.append(Evaluation(
                    accuracy: (edgeAccuracy * Double(labelled) + s.gain) / Double(labelled),
                    edgeAccuracy: edgeAccuracy, serverAccuracy: serverAccuracy,
                    sentFraction: Double(m) / images, patchesPerSent: perSent,
                    commCost: Double(m) / images * perSent / Double(p),
                    bytesPerImage: s.bytes / images, serverGFLOPs: s.flops / images / 1e9,
                    latencyMs: latency.edgeMs + up + sv, edgeMs: latency.edgeMs, uplinkMs: up, serverMs: sv,
                    images: n, labelled: labelled, totalImages: selection.total,
                    unreadableImages: selection.unreadable, partial: selection.isPartial,
                    confidentImages: n - m, meanMinAttention: s.keeping > 0 ? s.smallestKept / s.keeping : .nan,
                    meanAttentionSum: m > 0 ? s.keptSum / Double(m) : .nan,
                    accuracyTop5: (edgeAccuracyTop5 * Double(labelled) + s.gainTop5) / Double(labelled),
                    edgeAccuracyTop5: edgeAccuracyTop5, serverAccuracyTop5: serverAccuracyTop5))
            }
        }
        return results
    }

    /// What a sweep of `setting` over the grid asks of the server, before any
    /// server answer is looked up.
    struct GridDemand {
        /// The images evaluated.
        let selection: RowSelection
        /// `selection.rows` by gate score, least confident first: each threshold sends a prefix.
        let byScore: [Int]
        /// Per gate threshold, how many images it sends (a prefix of `byScore`); the most of them.
        let sentCounts: [Int], maxSent: Int
        /// Per image row: whether some threshold sends it.
        let mayBeSent: [Bool]
        /// The ordering's sorted scores (nil for a low-resolution server: rules do not apply).
        let order: SortedScores?
        /// Per rule parameter, per image row: the patches kept (P for a low-resolution server).
        let keptByRule: [[Int32]]
    }

    /// The images, gate order and kept patches behind `sweep`.
    func demand(_ setting: Setting, ruleParameters: [Double]?, gateThresholds: [Double]?) throws -> GridDemand {
        let server = try cache.run(setting.server)
        let p = server.numPatches
        let runs = [setting.edge, setting.server] + (setting.rule.isRandom ? [] : [setting.encoder])
        let selection = try cache.usableRows(runs: runs, partial: allowPartial)
        let rows = selection.rows, n = rows.count
        let scores = try gateScores(setting.edge, setting.gate, temperature: setting.temperature)
        let byScore = scores.map { s in rows.sorted { s[$0] > s[$1] || (s[$0] == s[$1] && $0 < $1) } } ?? rows
        let thresholds = (gateThresholds ?? [setting.gate.thresholdValue]).map { setting.gate.with(threshold: $0).scoreThreshold }
        func sentCount(_ t: Double) -> Int {
            guard let s = scores else { return n }
            var lo = 0, hi = n  // first position whose score < t
            while lo < hi { let mid = (lo + hi) / 2; if s[byScore[mid]] >= t { lo = mid + 1 } else { hi = mid } }
            return lo
        }
        let sentCounts = thresholds.map(sentCount)
        let maxSent = sentCounts.max() ?? 0
        var mayBeSent = [Bool](repeating: false, count: count)
        for i in byScore.prefix(maxSent) { mayBeSent[i] = true }
        let rules = (ruleParameters ?? [setting.rule.parameter]).map { setting.rule.with(parameter: $0) }
        let order = server.sendsWholeImage ? nil : try sorted(setting.ordering, patches: p)
        let keptByRule = order?.keep(rules) ?? Array(repeating: [Int32](repeating: Int32(p), count: count), count: rules.count)
        return GridDemand(selection: selection, byScore: byScore, sentCounts: sentCounts, maxSent: maxSent,
                          mayBeSent: mayBeSent, order: order, keptByRule: keptByRule)
    }

    /// `sweep`, each evaluation beside the setting it evaluates (the rule's
    /// parameter and the gate's threshold filled in), row-major over the rule parameter.
    public func sweepPoints(_ setting: Setting, ruleParameters: [Double]?, gateThresholds: [Double]?,
                            latency: LatencyModel? = nil) throws -> [(setting: Setting, evaluation: Evaluation)] {
        let results = try sweep(setting, ruleParameters: ruleParameters, gateThresholds: gateThresholds, latency: latency)
        let rules = ruleParameters ?? [setting.rule.parameter], gates = gateThresholds ?? [setting.gate.thresholdValue]
        return results.enumerated().map { n, r in
            var s = setting
            s.rule = setting.rule.with(parameter: rules[n / gates.count])
            s.gate = setting.gate.with(threshold: gates[n % gates.count])
            return (s, r)
        }
    }

    /// The (image, k) pairs of `kept` (k per image, one array per rule parameter)
    /// among the images that may be sent whose server answer the memo lacks.
    func missingPairs(_ key: String, server: String, kept: [[Int32]], sent: [Bool], patches p: Int, codec: Codec? = nil) throws -> [(Int, Int)] {
        let memo = try loadMemo(key, server: server, patches: p, codec: codec)
        var pairs: [(Int, Int)] = []
        for k in kept {
            for i in 0..<count where sent[i] && !memo.has(i * (p + 1) + Int(k[i])) { pairs.append((i, Int(k[i]))) }
        }
        return pairs
    }

    /// Computes the memo entries among `pairs` (image, k) that are missing,
    /// running the server on exactly those patches, and stores them: in the
    /// cache, or with `shard` in that memo shard file instead. With a lossy
    /// `codec` (jpeg:Q) the server sees the patches as a receiver decodes
    /// them (`PatchCoding.patchwiseDecoded`), into that codec's table.
    ///
    /// The answers go into the file through a `CacheWriter`, which starts
    /// from the newest published file: answers stored meanwhile by another
    /// process (or by an earlier, interrupted fill of the shard) are taken,
    /// not recomputed. Checkpoints publish the answers so far; SIGINT or
    /// SIGTERM (`Interruption`) stops after the batch in hand, keeping every
    /// answer computed, and throws `Interrupted`.
    func fill(_ key: String, server: String, ordering: PatchOrdering, pairs: [(Int, Int)], patches p: Int,
              shard: MemoShard? = nil, codec: Codec? = nil) throws {
        var memo = try loadMemo(key, server: server, patches: p, codec: codec)
        if let planner, shard == nil {
            if MemoTable.isLossy(codec) {
                throw CacheError(cache.path, "plans hold answers on clean patches; those under --codec \(codec!) are computed by the sweep itself", kind: .badValue)
            }
            let wanted = Set(pairs.filter { !memo.has($0.0 * (p + 1) + $0.1) }.map { $0.0 * (p + 1) + $0.1 })
            guard !wanted.isEmpty else { return }
            planner.add(wanted.map { (image: $0 / (p + 1), k: $0 % (p + 1)) }, to: try emptyPlan(server: server, ordering: ordering),
                        config: try cache.run(server).config)
            throw PlannedAnswers(count: wanted.count)
        }
        if shard == nil {
            memos[key] = nil  // held here alone while filling (no copy per chunk), put back on any exit
        }
        defer { if shard == nil { memos[key] = memo } }
        let target = shard?.path ?? cache.path
        let writer = try CacheWriter(path: target, creating: shard.map { !FileManager.default.fileExists(atPath: $0.path) } ?? false)
        writer.checkpointInterval = checkpointInterval
        if let shard {
            do { try shard.mark(writer.file) } catch { writer.abandon(); throw error }
        } else {
            let latest = try Cache(path: cache.path, file: writer.file)
            guard latest.images == cache.images, try latest.run(server).weightsSHA256 == cache.run(server).weightsSHA256 else {
                writer.abandon()
                throw CacheError(cache.path, "was rebuilt by another process since it was opened; open it again", kind: .stale)
            }
        }
        func reopen() throws { if shard == nil { try reopenCache() } }
        // Take what is stored now (by another process meanwhile, too), in both tables.
        let key5 = MemoTable.top5Key(key)
        for (table, isTop5) in [(key, false), (key5, true)] {
            if try writer.file.contains(table) {
                let stored = try writer.file.openDataset(table).read(as: Int16.self).values
                let expected = isTop5 ? memo.top5.count : memo.top1.count
                guard stored.count == expected else {
                    writer.abandon()
                    throw CacheError(target, "memo table \(table) has \(stored.count) entries, expected \(expected)", kind: .corrupt)
                }
                if isTop5 {
                    for j in stored.indices where memo.top5[j] == -1 && stored[j] != -1 { memo.top5[j] = stored[j] }
                    memo.rankLabels()
                } else {
                    for j in stored.indices where memo.top1[j] < 0 && stored[j] >= 0 { memo.top1[j] = stored[j] }
                }
            } else if isTop5 {
                try MemoTable.createTop5(in: writer.file, key: key, images: count, columns: p + 1)
            } else {
                try MemoTable.create(in: writer.file, key: key, images: count, columns: p + 1)
            }
        }
        var missing = Array(Set(pairs.filter { !memo.has($0.0 * (p + 1) + $0.1) }.map { Pair(image: $0.0, k: $0.1) }))
        guard !missing.isEmpty else {  // another process stored them meanwhile
            if let shard { try shard.complete(writer) } else { writer.abandon() }
            return try reopen()
        }
        missing.sort { ($0.image, $0.k) < ($1.image, $1.k) }
        let net = try serverModel(server)
        let info = try cache.run(server)
        let pre = try cache.preprocessing
        let pins = try cache.pins()
        let order = try sorted(ordering, patches: p)
        let lossy = MemoTable.isLossy(codec) ? codec : nil
        let grid = PatchGrid(patchSize: info.patchSize, columns: info.imageSize / info.patchSize, rows: info.imageSize / info.patchSize)
        var done = 0
        progress(0, missing.count)
        // Decode a chunk of images once, then run each k among them in batches.
        let byImage = Dictionary(grouping: missing, by: \.image)
        let imageIDs = byImage.keys.sorted()
        do {
            for chunkStart in stride(from: 0, to: imageIDs.count, by: imagesPerChunk) {
                try Interruption.check()
                let chunk = Array(imageIDs[chunkStart..<min(imageIDs.count, chunkStart + imagesPerChunk)])
                // Decoded in parallel, each image once for every k it needs.
                var decoded = [Result<[Float], Error>?](repeating: nil, count: chunk.count)
                let paths = cache.images.paths
                decoded.withUnsafeMutableBufferPointer { out in
                    parallelFor(chunk.count, costPerItem: 1 << 20) { range in
                        for j in range {
                            out[j] = Result {
                                let crop = try ImageFiles.load(paths[chunk[j]], preprocessing: pre, expected: pins[chunk[j]]).0
                                return pre.networkInput(cropped: try lossy.map { try PatchCoding.patchwiseDecoded(crop, grid: grid, codec: $0) } ?? crop)
                            }
                        }
                    }
                }
                var inputs: [Int: [Float]] = [:]
                for (j, i) in chunk.enumerated() {
                    do { inputs[i] = try decoded[j]!.get() }
                    catch { throw CacheError(cache.path, "cannot compute server answers: \(error)", kind: .failed) }
                }
                // The rows this chunk touched, stored (also when it stops part-way: what it computed is kept).
                func store() throws {
                    for i in chunk {
                        let entries = (i * (p + 1))..<((i + 1) * (p + 1)), r = MemoTable.ranks
                        try writer.file.openDataset(key).write(Array(memo.top1[entries]), rows: i..<(i + 1))
                        try writer.file.openDataset(key5).write(Array(memo.top5[(entries.lowerBound * r)..<(entries.upperBound * r)]), rows: i..<(i + 1))
                    }
                }
                // One batch per equal k (a dense matrix shape), across the chunk's images.
                let byK = Dictionary(grouping: chunk.flatMap { byImage[$0]! }, by: \.k)
                do {
                    for (k, group) in byK.sorted(by: { $0.key < $1.key }) {
                        for start in stride(from: 0, to: group.count, by: batch) {
                            try Interruption.check()
                            let part = Array(group[start..<min(group.count, start + batch)])
                            let x = Tensor(shape: [part.count, 3, info.imageSize, info.imageSize], scalars: part.flatMap { inputs[$0.image]! })
                            // Kept patches in increasing order, as a wire frame lists them (docs/wire.md), so that a
                            // live server's answer (`semcom serve`) is this one to the last bit.
                            let keep = part.map { order.order[($0.image * p)..<($0.image * p + k)].map(Int.init).sorted() }
                            let logits = net.forward(x, keep: keep).logits
                            let c = info.numClasses
                            for (j, pair) in part.enumerated() {
                                let row = logits.scalars[(j * c)..<((j + 1) * c)]
                                guard row.allSatisfy(\.isFinite) else {
                                    throw CacheError(cache.path, "row \(pair.image) (\(cache.images.paths[pair.image])): server '\(server)' gave a non-finite logit on \(k) patches", kind: .failed)
                                }
                                memo.set(pair.image * (p + 1) + k, classes: topK(row, MemoTable.ranks).map(\.index))
                            }
                            done += part.count
                            progress(done, missing.count)
                            if writer.checkpointDue {  // within a chunk too: a large chunk may take minutes
                                try store()
                                try writer.checkpoint()
                            }
                        }
                    }
                } catch {
                    try? store()
                    throw error
                }
                try store()
                try writer.checkpointIfDue()
            }
            if let shard { try shard.complete(writer) } else { try writer.commit() }
        } catch {
            // Every chunk stored so far is kept: publish it, then report.
            try? writer.commit()
            try? reopen()
            guard var stop = error as? Interrupted else { throw error }
            stop.detail = "the \(done) server answers computed so far are stored in \(target); run the command again to go on"
            throw stop
        }
        try reopen()
    }

    /// Moves to the newest published cache; what was derived from runs that
    /// have grown since (a build running meanwhile) is dropped.
    func reopenCache() throws {
        func completed() throws -> [Int] { try cache.runNames().map { try cache.run($0).completed } }
        let before = try completed()
        try cache.reopen()
        if try completed() != before {
            predictions = [:]
            logits = [:]
            gateScores = [:]
            orderings = [:]
            topFive = [:]
        }
    }

    private struct Pair: Hashable { let image: Int, k: Int }

    /// Sums over the images sent so far: accuracy gains over the edge (top-1,
    /// top-5), patches, server FLOPs, uplink and server ms, and, over those
    /// keeping a patch, their count, smallest kept scores and kept-score sums.
    /// The bytes of each image's frame keeping its first k patches of the
    /// setting's ordering under `codec`, N x (P+1) (entry i x (P+1) + k),
    /// from the cache's recorded sizes; rows not evaluated are 0.
    func frameBytes(_ codec: Codec, setting: Setting, server: RunInfo, rows: [Int]) throws -> [Int32] {
        if codec.isWholeImage {
            throw CacheError(cache.path, "--codec \(codec) sends the whole image, not patches: it is the baseline, a run of its own; give raw or jpeg:Q", kind: .badValue)
        }
        guard !server.sendsWholeImage else {
            throw CacheError(cache.path, "--codec \(codec): run '\(server.name)' is sent as a whole image, not as patches", kind: .badValue)
        }
        let p = server.numPatches
        let key = "\(codec)|\(setting.ordering)"
        var (out, filled) = frameByteTables[key] ?? ([Int32](repeating: 0, count: cache.images.count * (p + 1)), [Bool](repeating: false, count: cache.images.count))
        let missing = rows.filter { !filled[$0] }
        if missing.isEmpty { return out }
        // Raw frames are counted exactly; jpeg:Q from the sizes the cache recorded.
        let grid = PatchGrid(patchSize: server.patchSize, columns: server.imageSize / server.patchSize, rows: server.imageSize / server.patchSize)
        let raw = (0...p).map { CodedSizes.frameBytes(kept: $0, of: grid, payload: $0 * grid.patchBytes) }
        let table = codec == .raw ? nil : try cache.codedSizes(codec)
        if let table {
            guard table.grid == grid else {
                throw CacheError(cache.path, "codec \(codec) was recorded on \(table.grid.count) patches of \(table.grid.patchSize) px, run '\(server.name)' has \(p) of \(server.patchSize) px", kind: .badValue)
            }
            if let last = missing.max(), last >= table.completed {
                throw CacheError(cache.path, "codec \(codec) is recorded for \(thousands(table.completed)) of \(thousands(cache.images.count)) images; finish it with semcom cache build --codec \(codec)", kind: .incomplete)
            }
        }
        let order = try sorted(setting.ordering, patches: p).order
        for i in missing {
            let bytes = table?.frameBytesByK(row: i, order: order[(i * p)..<((i + 1) * p)]) ?? raw
            for (k, b) in bytes.enumerated() {
                out[i * (p + 1) + k] = Int32(b)
            }
            filled[i] = true
        }
        frameByteTables[key] = (out, filled)
        return out
    }

    /// The bytes of each image's whole-image JPEG frame at `quality`
    /// (header and the crop's JPEG, `full-jpeg:Q`), from the sizes the cache
    /// recorded when the @jpeg:Q run was built; rows not evaluated are 0.
    func wholeImageFrames(quality: Int, rows: [Int]) throws -> [Int] {
        let table = try cache.codedSizes(.fullJPEG(quality: quality))
        if let last = rows.max(), last >= table.completed {
            throw CacheError(cache.path, "full-jpeg:\(quality) sizes are recorded for \(thousands(table.completed)) of \(thousands(cache.images.count)) images; finish them with semcom cache build", kind: .incomplete)
        }
        var out = [Int](repeating: 0, count: cache.images.count)
        for i in rows { out[i] = table.fullFrameBytes(row: i) }
        return out
    }

    struct SentTotals {
        var gain = 0.0, gainTop5 = 0.0, patches = 0.0, flops = 0.0, bytes = 0.0, serverTime = 0.0
        var keeping = 0.0, smallestKept = 0.0, keptSum = 0.0
    }

    /// A memo table and its top-5 companion in memory (`MemoTable`): entry
    /// j = image x (P+1) + k is `top1[j]` and `top5[5j..<5j+5]`.
    struct MemoEntries {
        var top1, top5: [Int16]
        /// Per entry, what evaluations read (one byte, so that a sweep's pass
        /// over the images reads little): the rank of the image's label among
        /// the top 5 (0: the server's class), `ranks` when it is not among
        /// them or the image is unlabelled, -1 when not computed.
        private(set) var labelRank: [Int8]
        let labels: [Int32]
        /// P + 1 entries per image.
        let columns: Int

        init(top1: [Int16], top5: [Int16], labels: [Int32], columns: Int) {
            (self.top1, self.top5, self.labels, self.columns) = (top1, top5, labels, columns)
            labelRank = []
            rankLabels()
        }

        /// Whether entry `j` is computed (in both tables: a table filled before
        /// the top 5 were stored has its entries computed again).
        func has(_ j: Int) -> Bool { labelRank[j] >= 0 }

        /// Sets entry `j` from the classes best first (at most `ranks`; -2 pads past the class count).
        mutating func set(_ j: Int, classes: [Int]) {
            top1[j] = Int16(classes[0])
            for r in 0..<MemoTable.ranks { top5[j * MemoTable.ranks + r] = r < classes.count ? Int16(classes[r]) : -2 }
            labelRank[j] = rank(j)
        }

        /// Computes `labelRank` from `top5` (after entries were taken from elsewhere).
        mutating func rankLabels() { labelRank = top1.indices.map(rank) }

        func rank(_ j: Int) -> Int8 {
            let r = MemoTable.ranks, label = labels[j / columns]
            guard top5[j * r] >= 0 else { return -1 }
            return Int8((0..<r).first { label >= 0 && Int32(top5[j * r + $0]) == label } ?? r)
        }
    }

    /// The memo table and its top-5 companion in memory: the stored ones, or
    /// all -1 where there are none yet; column P holds the server's
    /// full-image answer on every complete row (all patches, in any order,
    /// are the whole image), except under a lossy `codec`, whose whole image
    /// is not the clean one.
    func loadMemo(_ key: String, server: String, patches p: Int, codec: Codec? = nil) throws -> MemoEntries {
        if let m = memos[key] { return m }
        let info = try cache.run(server)
        guard info.numClasses <= Int(Int16.max) else {
            throw CacheError(cache.path, "run '\(server)' has \(info.numClasses) classes; the memo stores a class as int16 (at most \(Int16.max))", kind: .badValue)
        }
        func stored(_ table: String, entries: Int) throws -> [Int16] {
            guard try cache.file.contains(table) else { return [Int16](repeating: -1, count: entries) }
            let values = try cache.file.openDataset(table).read(as: Int16.self).values
            guard values.count == entries else { throw CacheError(cache.path, "memo table \(table) has \(values.count) entries, expected \(entries)", kind: .corrupt) }
            return values
        }
        var memo = MemoEntries(top1: try stored(key, entries: count * (p + 1)),
                               top5: try stored(MemoTable.top5Key(key), entries: count * (p + 1) * MemoTable.ranks),
                               labels: cache.images.labels, columns: p + 1)
        let logits = try runLogits(server), c = info.numClasses
        for i in 0..<info.completed where cache.status[i] == .read && !MemoTable.isLossy(codec) {
            memo.set(i * (p + 1) + p, classes: topK(logits[(i * c)..<((i + 1) * c)], MemoTable.ranks).map(\.index))
        }
        memos[key] = memo
        return memo
    }

    /// The server's model, loaded from the weights path recorded in the cache
    /// and checked against the recorded SHA-256.
    func serverModel(_ name: String) throws -> any ImageClassifier {
        if let m = servers[name] { return m }
        let info = try cache.run(name)
        guard FileManager.default.fileExists(atPath: info.weights) else {
            throw CacheError(cache.path, "run '\(name)': weights \(info.weights) not found; needed to compute missing server answers", kind: .notFound)
        }
        guard try sha256Hex(ofFile: info.weights) == info.weightsSHA256 else {
            throw CacheError(cache.path, "run '\(name)': \(info.weights) has changed since the cache was built (SHA-256 differs)", kind: .stale)
        }
        let net = try ModelRegistry.load(info.arch, weightsPath: info.weights, heads: info.numHeads)
        // The cache's own record of the run must be this model (a damaged header could say otherwise).
        let (c, r) = (net.config, info.config)
        guard (c.imageSize, c.patchSize, c.embedDim, c.depth, c.numClasses) == (r.imageSize, r.patchSize, r.embedDim, r.depth, r.numClasses),
              (c.prefixTokens, c.distilled, c.noEmbedClass) == (r.prefixTokens, r.distilled, r.noEmbedClass) else {
            throw CacheError(cache.path, "run '\(name)' records \(r.shapeDescription), but \(info.weights) is \(c.shapeDescription)", kind: .corrupt)
        }
        servers[name] = net
        return net
    }
}

/// Per image: patch indices in an ordering (N x P), their scores in that
/// order, and the running sums used by the attention-sum rule.
struct SortedScores {
    let patches: Int
    let order: [Int32]
    let scores: [Float]
    let cumulative: [Double]

    init(scores all: [Float], images n: Int, patches p: Int) {
        var order = [Int32](), scores = [Float](), cumulative = [Double]()
        order.reserveCapacity(n * p); scores.reserveCapacity(n * p); cumulative.reserveCapacity(n * p)
        for i in 0..<n {
            let row = all[(i * p)..<((i + 1) * p)]
            var total = 0.0
            for j in Ordering.byScore(row) {
                let s = row[row.startIndex + j]
                order.append(Int32(j)); scores.append(s)
                total += Double(s); cumulative.append(total)
            }
        }
        self.patches = p
        self.order = order
        self.scores = scores
        self.cumulative = cumulative
    }

    init(randomSeed seed: UInt64, images n: Int, patches p: Int) {
        patches = p
        order = (0..<n).flatMap { Ordering.random(patches: p, seed: seed, image: $0).map(Int32.init) }
        scores = [Float](repeating: 1 / Float(p), count: n * p)
        cumulative = (0..<(n * p)).map { Double($0 % p + 1) / Double(p) }
    }

    /// k for every rule and image (rules x N): `rule.keep` on each image's
    /// sorted scores, through the same `SelectionRule.Criterion`. Each image's
    /// row is read once per kind of criterion: with its rules ordered by
    /// increasing k, each rule's prefix extends the previous one, O(P + R) per image.
    func keep(_ rules: [SelectionRule]) -> [[Int32]] {
        let n = order.count / patches, p = patches
        var out = [[Int32]](repeating: [Int32](repeating: 0, count: n), count: rules.count)
        var scoreRules: [(r: Int, c: SelectionRule.Criterion, t: Double)] = [], sumRules = scoreRules
        for (r, rule) in rules.enumerated() {
            switch rule.criterion {
            case .first(let k)?: out[r] = [Int32](repeating: Int32(max(0, min(k, p))), count: n)
            case .scoresAtLeast(let t)?: scoreRules.append((r, .scoresAtLeast(t), t))
            case .runningSumAtMost(let t)?: sumRules.append((r, .runningSumAtMost(t), t))
            case nil:  // a rule without a criterion: asked image by image
                out[r] = (0..<n).map { i in Int32(max(0, min(p, rule.keep(sorted: scores[(i * p)..<((i + 1) * p)])))) }
            }
        }
        // k grows as the score threshold falls and as the sum threshold rises.
        let groups = [scoreRules.sorted { $0.t > $1.t }, sumRules.sorted { $0.t < $1.t }].map { $0.map { (r: $0.r, c: $0.c) } }
        cumulative.withUnsafeBufferPointer { c in
            scores.withUnsafeBufferPointer { s in
                for i in 0..<n {
                    for group in groups {
                        var k = 0
                        for (r, criterion) in group {
                            while k < p && criterion.keeps(position: k, score: s[i * p + k], runningSum: c[i * p + k]) { k += 1 }
                            out[r][i] = Int32(k)
                        }
                    }
                }
            }
        }
        return out
    }
}
