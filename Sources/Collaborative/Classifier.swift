import Attention
import Entropy
import Imaging
import Tensors
import ViT

/// One image as a model sees it: its class scores and where its class token looks.
public struct Classification: Sendable {
    /// The image file.
    public var path: String
    /// C class scores (logits).
    public var logits: [Float]
    /// P patch scores summing to 1: the last layer's class-token attention
    /// over the patches, averaged over heads (`ImportanceMeasure.mean`).
    public var importance: [Float]

    /// The softmax of the logits (C probabilities).
    public var probabilities: [Double] { Uncertainty.probabilities(logits[...]) }
    /// The class with the largest logit (the lower index on a tie).
    public var predictedClass: Int { topK(logits[...], 1)[0].index }
    /// -log2 of the largest probability, in bits (the paper's gate measure).
    public var minEntropy: Double { Uncertainty.minEntropy(probabilities) }
}

/// A model with the preprocessing its weights were trained with, ready to
/// classify image files: what `semcom infer` does, as typed values.
public struct Classifier {
    public let model: any ImageClassifier
    public let preprocessing: Preprocessing
    /// Threads for decoding and for the model (`Threads`).
    public var threads = 1
    /// Images per forward pass.
    public var batch = 16

    /// Loads `.safetensors` weights (timm or transformers layout) as the
    /// architecture named `architecture` (`ModelRegistry`; nil: read off the
    /// weights). The preprocessing is `preprocessing` when given, else the one
    /// the `config.json` or `preprocessor_config.json` beside the weights
    /// states, else timm's defaults (224 px, crop 0.875, ImageNet mean and std).
    public init(weights: String, architecture: String? = nil, preprocessing: Preprocessing? = nil) throws {
        model = try ModelRegistry.load(architecture, weightsPath: weights)
        self.preprocessing = try preprocessing ?? Preprocessing.stated(besideWeights: weights) ?? Preprocessing()
        guard self.preprocessing.size == model.config.imageSize else {
            throw ImagingConfigError(path: weights, reason: "the model takes \(model.config.imageSize) px images, the preprocessing gives \(self.preprocessing.size) px")
        }
    }

    /// Classifies the images at `paths`, in order; images that cannot be
    /// read or decoded are left out and listed in `failed` with their error.
    public func classify(_ paths: [String]) -> (classified: [Classification], failed: [(path: String, error: any Error)]) {
        Threads.with(threads) {
            let decoded = preprocessing.networkInputs(paths)
            let c = model.config, s = c.imageSize, perImage = 3 * s * s
            var classified: [Classification] = []
            for start in stride(from: 0, to: decoded.paths.count, by: batch) {
                let rows = start..<min(decoded.paths.count, start + batch)
                let x = Tensor(shape: [rows.count, 3, s, s],
                               scalars: Array(decoded.inputs.scalars[(rows.lowerBound * perImage)..<(rows.upperBound * perImage)]))
                let out = model.forward(x)
                let importance = Importance.mean(classAttention: out.classAttention, prefixTokens: c.prefixTokens)
                for (j, row) in rows.enumerated() {
                    classified.append(Classification(
                        path: decoded.paths[row],
                        logits: Array(out.logits.scalars[(j * c.numClasses)..<((j + 1) * c.numClasses)]),
                        importance: Array(importance.scalars[(j * c.numPatches)..<((j + 1) * c.numPatches)])))
                }
            }
            return (classified, decoded.failed)
        }
    }
}

extension Preprocessing {
    /// Network inputs of the images at `paths`, decoded in parallel on
    /// `Threads.count` threads: `inputs` is N x 3 x size x size for the N
    /// `paths` that decoded, in order; the others are in `failed` with their error.
    public func networkInputs(_ paths: [String]) -> (inputs: Tensor, paths: [String], failed: [(path: String, error: any Error)]) {
        var results = [Result<[Float], any Error>?](repeating: nil, count: paths.count)
        results.withUnsafeMutableBufferPointer { out in
            parallelFor(paths.count, costPerItem: 1 << 20) { range in
                for i in range { out[i] = Result { try networkInput(contentsOf: paths[i]) } }
            }
        }
        var scalars: [Float] = [], good: [String] = [], failed: [(path: String, error: any Error)] = []
        for (path, r) in zip(paths, results) {
            switch r! {
            case .success(let v): scalars += v; good.append(path)
            case .failure(let e): failed.append((path, e))
            }
        }
        return (Tensor(shape: [good.count, 3, size, size], scalars: scalars), good, failed)
    }
}
