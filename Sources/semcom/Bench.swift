import ArgumentParser
import Foundation
import Repl
import Tensors
import ViT

/// `semcom bench`: times the forward pass.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the DeiT forward pass; the last line is 'throughput: X img/s'.")

    @OptionGroup var model: ModelOptions

    @Option(help: "Weights (.safetensors); random weights when omitted (needs --arch).")
    var weights: String?

    @Option(help: "Images per forward pass.")
    var batch: Int = 1

    @Option(help: "Timed forward passes (after one warm-up pass).")
    var iters: Int = 10

    @Option(help: "Keep only this many patches per image (token subset), default all.")
    var keep: Int?

    func validate() throws {
        try usage { try Limits.check(batch: batch) }
        guard (1...1_000_000).contains(iters) else { throw ValidationError("--iters \(iters): expected timed passes in 1...1000000") }
        if let keep, keep < 1 { throw ValidationError("--keep \(keep): expected a number of patches >= 1") }
    }

    func run() throws { try Threads.with(model.threads) { try measure() } }

    func measure() throws {
        let net: any ImageClassifier
        if let weights {
            net = try model.load(weights)
        } else {
            guard let c = try model.expectedConfig() else { throw CLIError("bench: give --arch NAME or --weights FILE") }
            net = VisionTransformer(config: c, weights: .random(c))
        }
        let c = net.config
        if let keep, keep > c.numPatches { throw ValidationError("--keep \(keep): the model has \(c.numPatches) patches (expected 1...\(c.numPatches))") }
        var rng = SplitMix64(seed: 1)
        let x = Tensor(shape: [batch, 3, c.imageSize, c.imageSize],
                       scalars: (0..<(batch * 3 * c.imageSize * c.imageSize)).map { _ in rng.nextGaussian() })
        let subset = keep.map { k in (0..<batch).map { _ in Array((0..<c.numPatches).shuffled(using: &rng).prefix(k)) } }
        _ = net.forward(x, keep: subset)
        var times: [Double] = []
        for _ in 0..<iters {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = net.forward(x, keep: subset)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let sorted = times.sorted()
        let median = sorted[sorted.count / 2]
        print(String(format: "arch: D=%d L=%d H=%d, batch %d, threads %d, %d iterations", c.embedDim, c.depth, c.numHeads,
                     batch, Threads.count, iters))
        print("OpenBLAS kernels: \(BLASKernels.name)")
        print(String(format: "per pass: median %.2f ms, min %.2f ms, max %.2f ms", median * 1e3, sorted[0] * 1e3, sorted.last! * 1e3))
        print(String(format: "throughput: %.2f img/s", Double(batch) / median))
    }
}
