// How far the cache's estimate of a jpeg:Q frame's bytes is from really
// encoding it, over the images of a cache built with --codec jpeg:Q:
//
//     swift run -c release WireSizeCheck CACHE [RUN]
//
// For every image, every recorded jpeg:Q codec and k = P/8, 2P/8, ..., P-1:
// the first k patches of RUN's mean-attention ordering (the edge's by
// default, as Algorithm 1 keeps them) and k random patches, estimated
// (`CodedSizes.JPEGPatchBytes.estimate`) and encoded (`PatchCoding.encode`).
// Prints the relative error of the estimate (estimate / real - 1) per
// codec and selection: mean, 5th and 95th percentiles, extremes.
import Attention
import Collaborative
import Foundation
import Imaging
import Wire

let args = CommandLine.arguments
guard args.count >= 2 else { print("usage: WireSizeCheck CACHE [RUN]"); exit(2) }
let cache = try Cache(path: args[1])
let run = args.count > 2 ? args[2] : (try cache.runRoles()[.edge] ?? "edge")
let info = try cache.run(run)
let p = info.numPatches
let importance = try cache.importance(run, measure: .mean)
let pre = try cache.preprocessing
var rng = SystemRandomNumberGenerator()
for codec in try cache.codecs() where !codec.isWholeImage {
    let table = try cache.codedSizes(codec)
    var errors: [String: [Double]] = ["attention": [], "random": []]
    for i in 0..<cache.images.count where cache.status[i] == .read {
        let crop = try pre.croppedImage(contentsOf: cache.images.paths[i])
        let sizes = table.jpegPatchBytes(row: i)
        let order = Ordering.byScore(Array(importance[(i * p)..<((i + 1) * p)])[...])
        for k in stride(from: p / 8, to: p, by: max(1, p / 8)) {
            for (name, kept) in [("attention", Array(order.prefix(k))), ("random", Array(Array(0..<p).shuffled(using: &rng).prefix(k)))] {
                let real = try PatchCoding.encode(crop, grid: table.grid, indices: kept.sorted(), codec: codec, imageID: 0).payload.count
                errors[name]!.append(Double(sizes.estimate(kept)) / Double(real) - 1)
            }
        }
    }
    for (name, e) in errors.sorted(by: { $0.key < $1.key }) {
        let s = e.sorted(), n = s.count
        print(String(format: "%@ %@: %d frames, estimate error mean %+.2f %%, p5 %+.2f %%, p95 %+.2f %%, min %+.2f %%, max %+.2f %%",
                     codec.description, name, n, 100 * s.reduce(0, +) / Double(n), 100 * s[n / 20], 100 * s[n * 19 / 20], 100 * s[0], 100 * s[n - 1]))
    }
}
