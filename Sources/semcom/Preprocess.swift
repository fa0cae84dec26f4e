import ArgumentParser
import Foundation
import Repl
import Imaging
import Safety
import Tensors

/// Preprocessing options (timm/torchvision evaluation transform).
struct ImageOptions: ParsableArguments {
    @Option(help: "Crop fraction: the shorter side is resized to int(size / crop-pct) before the center crop.")
    var cropPct: Double = 0.875

    @Option(help: "Side of the square network input.")
    var size: Int = 224

    @Option(help: ArgumentHelp("Largest image decoded, in pixels (width x height as its header declares them; also the most a resize may produce).",
                               discussion: "Larger images are refused before decoding. Default: PIL's Image.MAX_IMAGE_PIXELS, 89478485."),
            transform: { text in
                guard let n = Int(text), n >= 1 else { throw ValidationError("--max-image-pixels \(text): expected a number of pixels >= 1") }
                return n
            })
    var maxImagePixels: Int = ImageLimits.defaultMaxPixels

    /// Makes `--max-image-pixels` the limit of every decode in this process.
    func applyLimits() { ImageLimits.maxPixels = maxImagePixels }

    var preprocessing: Preprocessing { Preprocessing(size: size, cropPct: cropPct) }

    func validate() throws {
        try usage { try Limits.check(cropPct: cropPct, size: size) }
    }

    /// Network inputs for `paths` (decoded in parallel), N x 3 x size x size,
    /// and the paths that decoded; failures are reported and skipped.
    func load(_ paths: [String]) -> (Tensor, [String]) {
        let p = preprocessing
        var results = [Result<[Float], Error>?](repeating: nil, count: paths.count)
        results.withUnsafeMutableBufferPointer { out in
            parallelFor(paths.count, costPerItem: 1 << 20) { range in
                for i in range { out[i] = Result { try p.networkInput(contentsOf: paths[i]) } }
            }
        }
        var scalars: [Float] = [], good: [String] = []
        for (path, r) in zip(paths, results) {
            switch r! {
            case .success(let v): scalars += v; good.append(path)
            case .failure(let e): reportError("\(e)")
            }
        }
        return (Tensor(shape: [good.count, 3, size, size], scalars: scalars), good)
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
        Threads.set(threads)
        let (x, good) = image.load(images)
        try NPY.write(x, to: out)
        print("wrote \(out): \(x.shape)")
        if good.count < images.count {
            throw CLIError("\(images.count - good.count) of \(images.count) images failed; \(out) holds the other \(good.count), in order")
        }
    }
}
