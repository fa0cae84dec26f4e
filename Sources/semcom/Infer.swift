import ArgumentParser
import Attention
import Collaborative
import Entropy
import Foundation
import Repl
import HDF5IO
import Imaging
import Safety
import Tensors
import ViT

/// `semcom infer`: top-5 per image, and optionally every output in HDF5.
struct Infer: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify images with a DeiT; print the top-5 and optionally write logits, attention and importance to HDF5.")

    @OptionGroup var model: ModelOptions
    @OptionGroup var image: ImageOptions

    @Option(help: "Weights (.safetensors, timm or Hugging Face transformers layout).")
    var weights: String

    @Option(help: "Preprocessed inputs (.npy, N x 3 x H x W float32) instead of image files.")
    var inputs: String?

    @Option(help: "Kept patch indices (.npy, N x K integers, 0-based): run on the class token and those patches only.")
    var keep: String?

    @Flag(help: "Also compute the attention-rollout importance (full-image runs).")
    var rollout = false

    @Option(help: "HDF5 file for /logits, /attention/cls, /importance/mean and /importance/rollout.")
    var out: String?

    @Option(help: "Images per forward pass.")
    var batch: Int = 16

    @Option(help: "Classes printed per image.")
    var top: Int = 5

    @Argument(help: "JPEG or PNG files (or use --inputs).")
    var images: [String] = []

    func validate() throws {
        guard (inputs == nil) != images.isEmpty else { throw ValidationError("give image files or --inputs X.npy, not both or neither") }
        try usage { try Limits.check(batch: batch) }
        guard top >= 1 else { throw ValidationError("--top \(top): expected a number of classes >= 1") }
        if keep != nil && rollout { throw ValidationError("--rollout needs a full-image run (no --keep)") }
    }

    func run() throws {
        image.applyLimits()
        if let out {
            try checkOutput(out, kind: .hdf5, inputs: [weights] + [inputs, keep].compactMap { $0 } + images)
        }
        try Threads.with(model.threads) { try classify() }
    }

    func classify() throws {
        let net = try model.load(weights)
        let pre = try image.preprocessing(weights: [weights])
        let c = net.config
        var (x, names): (Tensor, [String])
        if let inputs {
            x = try NPY.readTensor(inputs)
            guard x.rank == 4, x.shape[1] == 3, x.shape[2] == c.imageSize, x.shape[3] == c.imageSize else {
                throw CLIError("\(inputs): shape \(x.shape), the model needs N x 3 x \(c.imageSize) x \(c.imageSize)")
            }
            names = (0..<x.shape[0]).map { "\(inputs)[\($0)]" }
        } else {
            guard pre.size == c.imageSize else {
                throw CLIError("\(image.size == nil ? "the weights' config states size" : "--size") \(pre.size) but the model takes \(c.imageSize)")
            }
            (x, names) = image.load(images, pre)
        }
        let n = x.shape[0]
        let kept = try keep.map { try readKeep($0, images: n, patches: c.numPatches) }
        let tokens = c.prefixTokens + (kept?.first?.count ?? c.numPatches)
        let writer = try out.map { try ResultsWriter(path: $0, config: c, images: names, tokens: tokens,
                                                    importance: kept == nil, rollout: rollout,
                                                    attributes: try provenance(pre)) }
        defer { writer?.discard() }
        let classNames = ClassNames.forClassCount(c.numClasses)
        for start in stride(from: 0, to: n, by: batch) {
            let rows = start..<min(n, start + batch)
            let xb = Tensor(shape: [rows.count] + x.shape.dropFirst(),
                            scalars: Array(x.scalars[(rows.lowerBound * x.count / n)..<(rows.upperBound * x.count / n)]))
            let result = net.forward(xb, keep: kept.map { Array($0[rows]) }, storeAttention: rollout)
            let bad = result.firstNonFiniteImage()
            for (i, row) in rows.enumerated() {
                if i == bad {
                    throw CLIError("\(names[row]): the model's output (logits, attention or rollout) holds NaN or infinity")
                }
                print(names[row])
                let p = Uncertainty.probabilities(result.logits.scalars[(i * c.numClasses)..<((i + 1) * c.numClasses)]).map(Float.init)
                for (k, prob) in topK(p[...], top) {
                    print(String(format: "  %7.4f  %4d  %@", prob, k, classNames.label(k)))
                }
            }
            try writer?.write(result, rows: rows, prefixTokens: c.prefixTokens)
        }
        if let out {
            try writer?.finish()
            print("wrote \(out)")
        }
        if names.count < images.count { throw CLIError("\(images.count - names.count) of \(images.count) images failed") }
    }

    /// What produced the results, stored as file attributes (`format_version`
    /// 1: /logits, /attention/cls, /importance/mean and /importance/rollout).
    func provenance(_ pre: Preprocessing) throws -> [String: String] {
        ["format": "semcom-infer", "format_version": "1", "semcom_version": semcomLibraryVersion,
         "weights": weights, "weights_sha256": try sha256Hex(ofFile: weights), "arch": model.arch,
         "image_size": "\(pre.size)", "crop_pct": "\(pre.cropPct)", "interpolation": Preprocessing.interpolation,
         "mean": "\([pre.mean.x, pre.mean.y, pre.mean.z])", "std": "\([pre.std.x, pre.std.y, pre.std.z])",
         "inputs": inputs ?? "images", "keep": keep ?? ""]
    }
}

/// Reads an N x K integer `.npy` of kept patch indices. Checked: the shape,
/// and in every row each index is an integer in 0..<patches and appears
/// once; an error names the row.
func readKeep(_ path: String, images n: Int, patches: Int) throws -> [[Int]] {
    let a = try NPY.read(path)
    guard a.shape.count == 2, a.shape[0] == n else { throw CLIError("\(path): shape \(a.shape), expected \(n) x K") }
    let k = a.shape[1]
    return try (0..<n).map { row in
        var seen = Set<Int>()
        return try a.values[(row * k)..<((row + 1) * k)].map { v in
            guard v >= 0, v < Double(patches), v == v.rounded() else {
                throw CLIError("\(path): row \(row): index \(v) is not a patch index in 0..<\(patches)")
            }
            guard seen.insert(Int(v)).inserted else {
                throw CLIError("\(path): row \(row): patch index \(Int(v)) appears more than once")
            }
            return Int(v)
        }
    }
}

/// Writes inference outputs to HDF5 batch by batch, into a temporary file
/// beside the destination that `finish()` renames into place once every row
/// is written: the destination holds a complete result or its earlier
/// content, never a partial file. A symbolic link destination is written through.
final class ResultsWriter {
    let file: HDF5File
    let temporary: String, destination: String
    private var published = false
    let logits: HDF5Dataset, attention: HDF5Dataset
    let mean: HDF5Dataset?, rollout: HDF5Dataset?

    init(path: String, config c: ViTConfig, images: [String], tokens: Int, importance: Bool, rollout: Bool,
         attributes: [String: String]) throws {
        let n = images.count
        destination = AtomicWrite.resolvedDestination(path)
        temporary = try AtomicWrite.temporaryPath(for: destination)
        guard let f = try? HDF5File.create(temporary, mode: .failIfExists) else {
            throw FileSafetyError(destination, "cannot create a temporary file beside it")
        }
        do {
            for (k, v) in attributes { try f.setAttribute(k, to: v) }
            try f.createDataset("/images/path", values: images)
            logits = try f.createDataset("/logits", of: Float.self, shape: [n, c.numClasses])
            attention = try f.createDataset("/attention/cls", of: Float.self, shape: [n, c.depth, c.numHeads, tokens])
            mean = importance ? try f.createDataset("/importance/mean", of: Float.self, shape: [n, c.numPatches]) : nil
            self.rollout = rollout ? try f.createDataset("/importance/rollout", of: Float.self, shape: [n, c.numPatches]) : nil
            file = f
        } catch {
            unlink(temporary)
            throw error
        }
    }

    func write(_ r: ViTOutput, rows: Range<Int>, prefixTokens: Int) throws {
        try logits.write(r.logits.scalars, rows: rows)
        try attention.write(r.classAttention.scalars, rows: rows)
        try mean?.write(Importance.mean(classAttention: r.classAttention, prefixTokens: prefixTokens).scalars, rows: rows)
        if let rollout, let a = r.attention { try rollout.write(Importance.rollout(attention: a, prefixTokens: prefixTokens).scalars, rows: rows) }
    }

    /// Closes the file, flushes it to disk and renames it over the destination.
    func finish() throws {
        file.close()
        try AtomicWrite.sync(temporary)
        try AtomicWrite.publish(temporary, as: destination)
        published = true
    }

    /// Removes the temporary file unless `finish()` published it.
    func discard() {
        guard !published else { return }
        file.close()
        unlink(temporary)
    }
}
