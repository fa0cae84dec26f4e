// Times a 100 x 100 sweep (attention-sum delta x min-entropy eta) over a
// synthetic cache of 50,000 images whose server memo is already filled:
// the cost of recomputing every operating point from cached data.
//
//     swift build -c release --product SweepBenchmark
//     .build/release/SweepBenchmark [--images 50000] [--grid 100] [--repeats 5]
import Collaborative
import Entropy
import Attention
import Foundation
import HDF5IO
import Imaging
import Tensors
import ViT

var images = 50_000, grid = 100, repeats = 5
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    guard let v = args.popFirst().flatMap(Int.init) else { fatalError("usage: SweepBenchmark [--images N] [--grid G] [--repeats R]") }
    switch a { case "--images": images = v; case "--grid": grid = v; case "--repeats": repeats = v; default: fatalError("unknown \(a)") }
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let t = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9
}

let path = FileManager.default.temporaryDirectory.appendingPathComponent("sweep-benchmark-\(getpid()).h5").path
defer { try? FileManager.default.removeItem(atPath: path) }
let classes = 1000, patches = 196
var rng = SplitMix64(seed: 42)

let build = try seconds {
    let f = try HDF5File.create(path)
    let labels = (0..<images).map { _ in Int32.random(in: 0..<Int32(classes), using: &rng) }
    let list = ImageList(paths: (0..<images).map { "/synthetic/\($0).JPEG" }, labels: labels)
    try CacheLayout.create(in: f, images: list, preprocessing: Preprocessing(size: 224, cropPct: 0.875), batch: 16,
                           statuses: Array(repeating: .read, count: images))
    for (name, config, sharpness) in [("edge", ViTConfig.deitTiny, Float(4)), ("server", ViTConfig.deitBase, 6)] {
        try CacheLayout.createRun(in: f, model: ModelSpec(name: name, arch: "synthetic", weights: "none"), sha256: "none",
                                   config: config, images: images, completed: images)
        // Logits: the label gets a random boost, so accuracy and confidence vary.
        var logits = [Float](repeating: 0, count: images * classes)
        for i in 0..<images {
            for c in 0..<classes { logits[i * classes + c] = rng.nextGaussian() }
            logits[i * classes + Int(labels[i])] += sharpness * Float.random(in: 0..<2, using: &rng)
        }
        try f.openDataset(CacheLayout.run(name, CacheLayout.logits)).write(logits)
        // Importance: a peaked random distribution over the patches per image.
        var importance = [Float](repeating: 0, count: images * patches)
        for i in 0..<images {
            var s: Float = 0
            for j in 0..<patches { let v = exp(2 * rng.nextGaussian()); importance[i * patches + j] = v; s += v }
            for j in 0..<patches { importance[i * patches + j] /= s }
        }
        try f.openDataset(CacheLayout.run(name, CacheLayout.importance(.mean))).write(importance)
    }
    // A full memo: the server is right on k patches with probability rising in k;
    // its top 5: that class, then four others.
    var memo = [Int16](repeating: 0, count: images * (patches + 1))
    var top5 = [Int16](repeating: 0, count: memo.count * MemoTable.ranks)
    for i in 0..<images {
        for k in 0...patches {
            let right = Double.random(in: 0..<1, using: &rng) < 0.3 + 0.55 * Double(k) / Double(patches)
            let j = i * (patches + 1) + k
            memo[j] = right ? Int16(labels[i]) : Int16.random(in: 0..<Int16(classes), using: &rng)
            for r in 0..<MemoTable.ranks { top5[j * MemoTable.ranks + r] = (memo[j] + Int16(r)) % Int16(classes) }
        }
    }
    let key = MemoTable.key(server: "server", ordering: .measure(run: "edge", measure: .mean))
    try MemoTable.create(in: f, key: key, images: images, columns: patches + 1).write(memo)
    try MemoTable.createTop5(in: f, key: key, images: images, columns: patches + 1).write(top5)
    try f.flush()
}

let evaluator = Evaluator(cache: try Cache(path: path))
let setting = Setting(edge: "edge", server: "server", measure: .mean, rule: .sum(0.97), gate: .minEntropy(0.8))
let deltas = (0..<grid).map { 0.5 + 0.5 * Double($0) / Double(grid - 1) }
let etas = (0..<grid).map { 4 * Double($0) / Double(grid - 1) }
var points = 0
let first = try seconds { points = try evaluator.sweep(setting, ruleParameters: deltas, gateThresholds: etas).count }
var warm: [Double] = []
for _ in 0..<repeats {
    warm.append(try seconds { _ = try evaluator.sweep(setting, ruleParameters: deltas, gateThresholds: etas) })
}
warm.sort()
print("synthetic cache: \(images) images, written in \(String(format: "%.1f", build)) s")
print(String(format: "first sweep (reads the cache, sorts every image's patches, softmax of every edge output): %.3f s", first))
print(String(format: "%d x %d grid = %d points over %d images, memo filled: median %.3f s (min %.3f, max %.3f, %d runs)",
             grid, grid, points, images, warm[warm.count / 2], warm[0], warm[warm.count - 1], repeats))
