import Attention
import Collaborative
import Entropy
import Foundation
import Imaging
import Safety
import Tensors
import ViT
import Wire

/// What the edge does with each image (Algorithm 1): the gate, the semantic
/// encoder's measure, the selection rule and the codec of what it sends.
public struct EdgePolicy: Sendable {
    public var measure: ImportanceMeasure = .mean
    public var rule: SelectionRule = .sum(0.97)
    public var gate: Gate = .minEntropy(0.8)
    /// Applied to the edge logits before the gate's softmax.
    public var temperature = 1.0
    /// Seed of the random ordering (`random:K`): image i's ordering is the cache's for row i.
    public var seed: UInt64 = 0
    public var codec: Codec = .raw
    public init() {}
}

/// The edge's decision on one image, before anything is sent.
public struct EdgeDecision: Sendable {
    /// The edge model's class (its argmax).
    public var edgeClass: Int
    /// The gate's score (larger: less confident; `Gate.score`), nil for the gate `none`.
    public var uncertainty: Double?
    /// Whether the image goes to the server.
    public var sends: Bool
    /// The kept patches, increasing (empty when not sent).
    public var kept: [Int]
    /// The frame sent (docs/wire.md), when sent.
    public var frame: WireImage?
    /// Seconds: reading, decoding and preprocessing the image, the edge forward pass, the gate and the selection.
    public var edgeSeconds: Double
    /// Seconds: coding the kept patches into the frame.
    public var encodeSeconds: Double
}

/// The edge device: its model and policy.
public final class EdgeDevice {
    public let classifier: Classifier
    public var policy: EdgePolicy

    public init(classifier: Classifier, policy: EdgePolicy) {
        self.classifier = classifier
        self.policy = policy
    }

    public var grid: PatchGrid {
        let c = classifier.model.config
        return PatchGrid(patchSize: c.patchSize, columns: c.imageSize / c.patchSize, rows: c.imageSize / c.patchSize)
    }

    /// Runs the edge's half of Algorithm 1 on image `index` of a list, at `path`.
    public func decide(_ path: String, index: Int) throws -> EdgeDecision {
        let t0 = now()
        let pre = classifier.preprocessing, model = classifier.model, c = model.config
        let crop = try ImageFiles.load(path, preprocessing: pre, expected: .none).0
        let x = Tensor(shape: [1, 3, c.imageSize, c.imageSize], scalars: pre.networkInput(cropped: crop))
        let out = Threads.with(classifier.threads) { model.forward(x, keep: nil, storeAttention: policy.measure.needsEveryLayer) }
        let logits = out.logits.scalars[...]
        let probabilities = Uncertainty.probabilities(logits, temperature: policy.temperature)
        let edgeClass = topK(logits, 1)[0].index
        let sends = policy.gate.sends(probabilities)
        var kept: [Int] = []
        if sends {
            let p = c.numPatches
            let order: [Int], sorted: [Float]
            if policy.rule.isRandom {
                order = Ordering.random(patches: p, seed: policy.seed, image: index)
                sorted = [Float](repeating: 1 / Float(p), count: p)
            } else {
                let scores = Importance.scores(policy.measure, classAttention: out.classAttention, attention: out.attention, prefixTokens: c.prefixTokens).scalars
                order = Ordering.byScore(scores[...])
                sorted = order.map { scores[$0] }
            }
            let k = max(0, min(p, policy.rule.keep(sorted: sorted[...])))
            kept = order.prefix(k).sorted()
        }
        let t1 = now()
        let frame = sends ? try PatchCoding.encode(crop, grid: grid, indices: kept, codec: policy.codec, imageID: UInt64(index)) : nil
        return EdgeDecision(edgeClass: edgeClass, uncertainty: policy.gate.score(probabilities), sends: sends, kept: kept, frame: frame,
                            edgeSeconds: Double(t1 - t0) / 1e9, encodeSeconds: Double(now() - t1) / 1e9)
    }
}

/// One image of a live run: the decision, the bytes, the answer and where the time went.
public struct EdgeImageResult: Sendable {
    public var index: Int
    public var path: String
    /// The label, -1 when unknown.
    public var label: Int
    public var decision: EdgeDecision
    /// The final answer: the edge's class, or the server's first.
    public var answer: Int
    /// The server's classes, best first (empty when not sent).
    public var serverClasses: [Int] = []
    /// The image frame's bytes (docs/wire.md), 0 when not sent: what `bytes_per_image` counts.
    public var frameBytes = 0
    /// Bytes of the request on the connection: the frame, its id and the link's framing and tag.
    public var linkBytes = 0
    /// Milliseconds from the request's send to its answer, less the server's own time: both directions of the link.
    public var transferMs = 0.0
    public var serverDecodeMs = 0.0, serverQueueMs = 0.0, serverComputeMs = 0.0
    /// Requests in the server's batch.
    public var batch = 0
    /// Sends of the request (1 unless a connection was lost on the way).
    public var attempts = 0

    public var edgeMs: Double { decision.edgeSeconds * 1000 }
    public var encodeMs: Double { decision.encodeSeconds * 1000 }
    /// Edge, encode, transfer and the server's decode, queue and compute.
    public var totalMs: Double { edgeMs + encodeMs + transferMs + serverDecodeMs + serverQueueMs + serverComputeMs }
    public var correct: Bool { label >= 0 && answer == label }
}

/// A live run's totals.
public struct EdgeReport: Sendable {
    public var images = 0, labelled = 0, sent = 0, failed = 0
    public var accuracy = Double.nan
    /// Mean image-frame bytes over all images (unsent ones count 0), as `bytes_per_image`.
    public var bytesPerImage = 0.0
    /// Per-image latency percentiles, ms.
    public var p50Ms = 0.0, p90Ms = 0.0, p99Ms = 0.0
    /// Mean transfer time of the sent images, ms.
    public var meanTransferMs = Double.nan
    /// Requests sent again after a lost connection.
    public var retries = 0
    /// Answers that came for no request waiting; should be 0.
    public var strayAnswers = 0

    public init(_ results: [EdgeImageResult], failed: Int, strayAnswers: Int) {
        images = results.count
        self.failed = failed
        self.strayAnswers = strayAnswers
        let labelled = results.filter { $0.label >= 0 }
        self.labelled = labelled.count
        accuracy = labelled.isEmpty ? .nan : Double(labelled.filter(\.correct).count) / Double(labelled.count)
        let sentResults = results.filter(\.decision.sends)
        sent = sentResults.count
        bytesPerImage = results.isEmpty ? 0 : Double(results.map(\.frameBytes).reduce(0, +)) / Double(results.count)
        meanTransferMs = sentResults.isEmpty ? .nan : sentResults.map(\.transferMs).reduce(0, +) / Double(sent)
        retries = results.map { max(0, $0.attempts - 1) }.reduce(0, +)
        let latencies = results.map(\.totalMs).sorted()
        (p50Ms, p90Ms, p99Ms) = (percentile(latencies, 0.5), percentile(latencies, 0.9), percentile(latencies, 0.99))
    }
}

/// The `q` quantile of ascending `v` (nearest rank), 0 when empty.
func percentile(_ v: [Double], _ q: Double) -> Double {
    v.isEmpty ? 0 : v[min(v.count - 1, max(0, Int((q * Double(v.count)).rounded(.up)) - 1))]
}

/// Algorithm 1 for real: the edge classifies each image, keeps or sends it,
/// and waits for the server's answer over `client`. A lost connection is
/// reconnected and the request sent again (`LinkClient.request(id:frame:retryingFor:timeout:)`).
public struct EdgeRun {
    public let device: EdgeDevice
    public let client: LinkClient
    public var retryFor = 30.0
    public var requestTimeout = 60.0

    public init(device: EdgeDevice, client: LinkClient) {
        self.device = device
        self.client = client
    }

    /// Runs every image of `images`, calling `each` with each result as it comes
    /// (or with the error of an image that cannot be read), and returns the results.
    public func run(_ images: ImageList, each: (Int, Result<EdgeImageResult, Error>) -> Void = { _, _ in }) throws -> [EdgeImageResult] {
        var results: [EdgeImageResult] = []
        for i in 0..<images.count {
            try Interruption.check()
            let decision: EdgeDecision
            do { decision = try device.decide(images.paths[i], index: i) } catch {
                each(i, .failure(error))
                continue
            }
            var r = EdgeImageResult(index: i, path: images.paths[i], label: Int(images.labels[i]), decision: decision, answer: decision.edgeClass)
            if let frame = decision.frame {
                let bytes = frame.encoded()
                r.frameBytes = bytes.count
                r.linkBytes = bytes.count + 8 + LinkFraming.overheadBytes
                let (answer, sent, received, attempts) = try client.request(id: UInt64(i), frame: bytes, retryingFor: retryFor, timeout: requestTimeout)
                r.attempts = attempts
                r.serverClasses = answer.classes
                r.answer = answer.classes.first ?? decision.edgeClass
                (r.serverDecodeMs, r.serverQueueMs, r.serverComputeMs) = (Double(answer.decodeMicros) / 1000, Double(answer.queueMicros) / 1000, Double(answer.computeMicros) / 1000)
                r.batch = Int(answer.batch)
                r.transferMs = max(0, Double(received - sent) / 1e6 - r.serverDecodeMs - r.serverQueueMs - r.serverComputeMs)
            }
            results.append(r)
            each(i, .success(r))
        }
        return results
    }
}
