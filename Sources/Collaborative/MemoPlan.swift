import Attention
import Foundation
import Safety
import Tensors
import ViT

/// The server answers a sweep would compute before it can answer: what
/// `semcom plan` reports, and writes as JSON for a later fill.
public struct MemoPlan: Codable, Equatable, Sendable {
    public static let formatName = "semcom-memo-plan"
    public static let currentVersion = 2
    public var format = MemoPlan.formatName
    public var version = MemoPlan.currentVersion
    /// The cache (its path as given), its image count N, its server run and
    /// the SHA-256 of that run's weights, and the patch ordering
    /// (`PatchOrdering.description`).
    public var cache: String, imageCount: Int, server: String, serverWeightsSHA256: String, ordering: String
    /// The ordering's parts: the run and measure whose importance orders the
    /// patches, or the seed of a random ordering.
    public var orderingRun: String?, orderingMeasure: String?, orderingSeed: UInt64?
    /// Server answers the grid needs: the distinct (image, k) of the images
    /// some threshold sends (0 for a low-resolution server, which needs none).
    public var needed: Int
    /// The missing ones, by image row then k: `images[j]` and `ks[j]`.
    public var images: [Int], ks: [Int]
    /// Multiply-adds of the missing answers: eq. 9 on the prefix tokens plus k, summed.
    public var flops: Double

    /// How many answers are missing.
    public var missing: Int { images.count }

    /// Adds missing answers (image, k) not in the plan yet; keeps the plan's
    /// entries sorted by image then k and its FLOPs their sum (eq. 9 with `config`).
    public mutating func add(_ pairs: [(image: Int, k: Int)], config: ViTConfig) {
        var all = Set(zip(images, ks).map { Pair(image: $0, k: $1) })
        for (i, k) in pairs { all.insert(Pair(image: i, k: k)) }
        let sorted = all.sorted { ($0.image, $0.k) < ($1.image, $1.k) }
        images = sorted.map(\.image)
        ks = sorted.map(\.k)
        flops = ks.reduce(0) { $0 + config.encoderFLOPs(tokens: config.prefixTokens + $1) }
    }

    private struct Pair: Hashable { let image: Int, k: Int }

    /// The patch ordering the plan's answers are for.
    public func patchOrdering() throws -> PatchOrdering {
        if let orderingSeed { return .random(seed: orderingSeed) }
        guard let orderingRun, let orderingMeasure else { throw PlanError("names no patch ordering") }
        do { return .measure(run: orderingRun, measure: try ImportanceMeasure.parse(orderingMeasure)) }
        catch { throw PlanError("ordering: \(errorMessage(error))") }
    }

    /// Reads a plan file, checking its format, version and that its entries are consistent.
    public static func load(_ path: String) throws -> MemoPlan {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))  // a Foundation error names the path
        let plan: MemoPlan
        do { plan = try JSONDecoder().decode(MemoPlan.self, from: data) } catch {
            throw FileSafetyError(path, "not a plan file of this semcom (write one with `semcom plan --out`): \(error)", kind: .badValue)
        }
        guard plan.format == formatName, plan.version == currentVersion else {
            throw FileSafetyError(path, "is \(plan.format) version \(plan.version), expected \(formatName) version \(currentVersion): make the plan again", kind: .badValue)
        }
        guard plan.images.count == plan.ks.count, plan.images.allSatisfy({ (0..<plan.imageCount).contains($0) }), plan.ks.allSatisfy({ $0 >= 0 }) else {
            throw FileSafetyError(path, "damaged: images and ks disagree or lie outside the cache's \(plan.imageCount) rows", kind: .corrupt)
        }
        do { _ = try plan.patchOrdering() } catch { throw FileSafetyError(path, "\(error)", kind: .badValue) }
        return plan
    }

    /// Shard `index` of `count` of the missing answers, as (image, k) by
    /// image then k. Shards hold whole images, so that each image is decoded
    /// by one shard only, and are balanced by cost: images are dealt in
    /// decreasing order of the multiply-adds of their answers (`flops(k)`
    /// each; equal costs: the lower row first) to the shard with the fewest
    /// so far (equal loads: the lower shard), the longest-processing-time rule.
    public func shard(_ index: Int, of count: Int, flops: (Int) -> Double) -> [(image: Int, k: Int)] {
        precondition(count >= 1 && (0..<count).contains(index), "shard \(index) of \(count)")
        var ksOf: [Int: [Int]] = [:]
        for (i, k) in zip(images, ks) { ksOf[i, default: []].append(k) }
        let cost = ksOf.mapValues { $0.reduce(0) { $0 + flops($1) } }
        let order = cost.keys.sorted { (cost[$0]!, $1) > (cost[$1]!, $0) }
        var loads = MinHeap(count: count)
        var mine: [Int] = []
        for image in order where loads.addToLightest(cost[image]!) == index { mine.append(image) }
        return mine.sorted().flatMap { i in ksOf[i]!.sorted().map { (image: i, k: $0) } }
    }
}

/// Loads of `count` shards, lightest first (equal loads: the lower shard).
private struct MinHeap {
    private var items: [(load: Double, shard: Int)]
    init(count: Int) { items = (0..<count).map { (0, $0) } }  // already a heap: all loads 0, shards ascending

    private func less(_ a: Int, _ b: Int) -> Bool { (items[a].load, items[a].shard) < (items[b].load, items[b].shard) }

    /// Adds `cost` to the lightest shard and returns that shard.
    mutating func addToLightest(_ cost: Double) -> Int {
        let shard = items[0].shard
        items[0].load += cost
        var i = 0
        while true {  // sift down
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < items.count && less(l, m) { m = l }
            if r < items.count && less(r, m) { m = r }
            if m == i { return shard }
            items.swapAt(i, m)
            i = m
        }
    }
}

/// Collects, instead of computing them, the server answers that evaluations
/// would compute (`Evaluator.planner`): one plan per cache and memo table,
/// in the order first needed. What `semcom run --plan` reports.
public final class MemoPlanner {
    public private(set) var plans: [MemoPlan] = []
    public init() {}

    func add(_ pairs: [(image: Int, k: Int)], to empty: MemoPlan, config: ViTConfig) {
        let i = plans.firstIndex { ($0.cache, $0.server, $0.ordering) == (empty.cache, empty.server, empty.ordering) }
            ?? { plans.append(empty); return plans.count - 1 }()
        plans[i].add(pairs, config: config)
        plans[i].needed = plans[i].missing
    }
}

/// What an evaluation throws in planning mode (`Evaluator.planner`) when it
/// would have computed server answers: they are in the plan instead.
public struct PlannedAnswers: KindedError {
    public let count: Int
    public var kind: ErrorKind { .incomplete }
    public var description: String { "needs \(count) server answer(s) the memo lacks: added to the plan, not computed" }
}

/// A plan that cannot be used.
public struct PlanError: KindedError {
    public let reason: String
    public var kind: ErrorKind { .badValue }
    public var description: String { "plan: \(reason)" }
    init(_ reason: String) { self.reason = reason }
}

extension Evaluator {
    /// The plan of `sweep(setting, ruleParameters:, gateThresholds:)`: the
    /// server answers it needs and which of them the memo lacks, without
    /// running a model.
    public func plan(_ setting: Setting, ruleParameters: [Double]?, gateThresholds: [Double]?) throws -> MemoPlan {
        var plan = try emptyPlan(server: setting.server, ordering: setting.ordering)
        let server = try cache.run(setting.server)
        guard !server.sendsWholeImage else { return plan }
        let p = server.numPatches
        let d = try demand(setting, ruleParameters: ruleParameters, gateThresholds: gateThresholds)
        var needed = Set<Int>()  // entries i (P + 1) + k
        for kept in d.keptByRule {
            for i in d.selection.rows where d.mayBeSent[i] { needed.insert(i * (p + 1) + Int(kept[i])) }
        }
        let memo = try loadMemo(MemoTable.key(server: setting.server, ordering: setting.ordering), server: setting.server, patches: p)
        plan.needed = needed.count
        plan.add(needed.filter { !memo.has($0) }.map { ($0 / (p + 1), $0 % (p + 1)) }, config: server.config)
        return plan
    }

    /// A plan of nothing yet for the server's answers in `ordering` on this cache.
    func emptyPlan(server name: String, ordering: PatchOrdering) throws -> MemoPlan {
        let server = try cache.run(name)
        var plan = MemoPlan(cache: cache.path, imageCount: count, server: name, serverWeightsSHA256: server.weightsSHA256,
                            ordering: "\(ordering)", needed: 0, images: [], ks: [], flops: 0)
        switch ordering {
        case .measure(let run, let measure): (plan.orderingRun, plan.orderingMeasure) = (run, "\(measure)")
        case .random(let seed): plan.orderingSeed = seed
        }
        return plan
    }

    /// Seconds per multiply-add of the server run's forward pass on this
    /// machine at `threads`: `images` random full images, timed after one
    /// warm-up pass (about a second for DeiT-Base on 2 cores).
    public func secondsPerFLOP(server name: String, images: Int = 4) throws -> Double {
        let info = try cache.run(name)
        let net = try serverModel(name)
        var rng = SplitMix64(seed: 1)
        let x = Tensor(shape: [images, 3, info.imageSize, info.imageSize],
                       scalars: (0..<(images * 3 * info.imageSize * info.imageSize)).map { _ in Float(rng.nextGaussian()) })
        return Threads.with(threads) {
            _ = net.forward(x, keep: nil)
            let start = DispatchTime.now().uptimeNanoseconds
            _ = net.forward(x, keep: nil)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            return seconds / (Double(images) * info.config.encoderFLOPs(tokens: info.config.numTokens))
        }
    }
}
