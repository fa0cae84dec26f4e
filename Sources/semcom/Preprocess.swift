import ArgumentParser
import Foundation
import Repl
import Imaging
import Safety
import Tensors

/// Preprocessing options (timm/torchvision evaluation transform).
struct ImageOptions: ParsableArguments {
    @Option(help: "Crop fraction: the shorter side is resized to int(size / crop-pct) before the center crop (default: the weights' config.json or preprocessor_config.json, else 0.875).")
    var cropPct: Double?

    @Option(help: "Side of the square network input (default: the weights' config, else 224).")
    var size: Int?

    @Option(help: ArgumentHelp("Largest image decoded, in pixels (width x height as its header declares them; also the most a resize may produce).",
                               discussion: "Larger images are refused before decoding. Default: PIL's Image.MAX_IMAGE_PIXELS, 89478485."),
            transform: { text in
                guard let n = Int(text), n >= 1 else { throw ValidationError("--max-image-pixels \(text): expected a number of pixels >= 1") }
                return n
            })
    var maxImagePixels: Int = ImageLimits.defaultMaxPixels

    /// Makes `--max-image-pixels` the limit of every decode in this process.
    func applyLimits() { ImageLimits.maxPixels = maxImagePixels }

    /// The transform: the defaults (224, 0.875, ImageNet's mean and std), then
    /// what the configs beside `weights` state (`Preprocessing.stated`; they
    /// must agree), then `--size` and `--crop-pct`.
    func preprocessing(weights: [String] = []) throws -> Preprocessing {
        var stated: [(String, Preprocessing)] = []
        for w in Set(weights).sorted() {
            if let p = try Preprocessing.stated(besideWeights: w) { stated.append((w, p)) }
        }
        var p = stated.first?.1 ?? Preprocessing()
        if let (w, other) = stated.first(where: { $0.1 != p }) {
            throw CLIError("the configs beside \(stated[0].0) and \(w) state different preprocessing (\(p) and \(other)); the runs of one cache share one: pass --size and --crop-pct, or use weights whose configs agree")
        }
        if let size { p.size = size }
        if let cropPct { p.cropPct = cropPct }
        return p
    }

    func validate() throws {
        try usage { try Limits.check(cropPct: cropPct ?? 0.875, size: size ?? 224) }
    }

    /// Network inputs for `paths` (decoded in parallel, `Preprocessing.networkInputs`),
    /// N x 3 x size x size, and the paths that decoded; failures are reported and skipped.
    func load(_ paths: [String], _ p: Preprocessing) -> (Tensor, [String]) {
        let decoded = p.networkInputs(paths)
        for f in decoded.failed { reportError("\(f.error)") }
        return (decoded.inputs, decoded.paths)
    }
}

/// `semcom preprocess`: images to network inputs in a `.npy`.
struct Preprocess: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode, resize, crop and normalise images into an N x 3 x H x W float32 .npy.")

    @OptionGroup var image: ImageOptions

    @Option(help: "Output .npy file.")
    var out: String

    @Option(help: "Threads for decoding.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Argument(help: "JPEG or PNG files.")
    var images: [String]

    func validate() throws {
        try usage { try Limits.check(threads: threads) }
    }

    func run() throws {
        image.applyLimits()
        try checkOutput(out, kind: .npy, inputs: images)
        let (x, good) = try Threads.with(threads) { image.load(images, try image.preprocessing()) }
        try NPY.write(x, to: out)
        print("wrote \(out): \(x.shape)")
        if good.count < images.count {
            throw CLIError("\(images.count - good.count) of \(images.count) images failed; \(out) holds the other \(good.count), in order")
        }
    }
}
