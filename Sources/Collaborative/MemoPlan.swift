import Foundation
import Tensors

/// The server answers a sweep would compute before it can answer: what
/// `semcom plan` reports, and writes as JSON for a later fill.
public struct MemoPlan: Codable, Equatable, Sendable {
    public static let formatName = "semcom-memo-plan"
    public var format = MemoPlan.formatName
    public var version = 1
    /// The cache (its path as given), its server run and the SHA-256 of that
    /// run's weights, and the patch ordering (`PatchOrdering.description`).
    public var cache: String, server: String, serverWeightsSHA256: String, ordering: String
    /// Server answers the grid needs: the distinct (image, k) of the images
    /// some threshold sends (0 for a low-resolution server, which needs none).
    public var needed: Int
    /// The missing ones, by image row then k: `images[j]` and `ks[j]`.
    public var images: [Int], ks: [Int]
    /// Multiply-adds of the missing answers: eq. 9 on the prefix tokens plus k, summed.
    public var flops: Double

    /// How many answers are missing.
    public var missing: Int { images.count }
}

extension Evaluator {
    /// The plan of `sweep(setting, ruleParameters:, gateThresholds:)`: the
    /// server answers it needs and which of them the memo lacks, without
    /// running a model.
    public func plan(_ setting: Setting, ruleParameters: [Double]?, gateThresholds: [Double]?) throws -> MemoPlan {
        let server = try cache.run(setting.server)
        let p = server.numPatches
        var plan = MemoPlan(cache: cache.path, server: setting.server, serverWeightsSHA256: server.weightsSHA256,
                            ordering: "\(setting.ordering)", needed: 0, images: [], ks: [], flops: 0)
        guard server.lowResolution == nil else { return plan }
        let d = try demand(setting, ruleParameters: ruleParameters, gateThresholds: gateThresholds)
        var needed = Set<Int>()  // entries i (P + 1) + k
        for kept in d.keptByRule {
            for i in d.selection.rows where d.mayBeSent[i] { needed.insert(i * (p + 1) + Int(kept[i])) }
        }
        let memo = try loadMemo(MemoTable.key(server: setting.server, ordering: setting.ordering), server: setting.server, patches: p)
        let missing = needed.filter { !memo.has($0) }.sorted()
        let config = server.config
        plan.needed = needed.count
        plan.images = missing.map { $0 / (p + 1) }
        plan.ks = missing.map { $0 % (p + 1) }
        plan.flops = plan.ks.reduce(0) { $0 + config.encoderFLOPs(tokens: config.prefixTokens + $1) }
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
