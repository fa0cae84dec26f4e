// Cache opening on arbitrary HDF5 files.
//
// libhdf5 parses the bytes; what semcom must survive is a well-formed HDF5
// file whose content is not what a cache promises: attributes of the wrong
// type or value, datasets missing, of another type, shape or rank, groups
// where datasets belong, values that are NaN or out of range. So the input
// is a program of edits applied to a small valid cache (4 images, edge run
// `a` and server run `b`, 8 x 8 images of 4 x 4 patches, 3 classes, 2 heads,
// a filled memo table), and the edited file is then opened and used the way
// the CLI and the REPL use it: info, every run and measure, evaluation and a
// sweep, the REPL's tables. Any error is fine; a trap, hang or blow-up is not.

import Foundation
import Attention
import FuzzSupport
import Collaborative
import Entropy
import HDF5IO
import Imaging
import Repl
import ViT

/// The cache, rewritten for every input, in the process's scratch folder.
let folder = scratchFolder
let cachePath = folder + "/cache.h5"

/// The input, read front to back; zeros once it runs out.
struct Reader {
    var bytes: [UInt8]
    var at = 0
    var done: Bool { at >= bytes.count }
    mutating func byte() -> UInt8 { defer { at += 1 }; return at < bytes.count ? bytes[at] : 0 }
    mutating func pick<T>(_ from: [T]) -> T { from[Int(byte()) % from.count] }
    mutating func int64() -> Int64 {
        let special: [Int64] = [0, 1, -1, 2, 3, 4, 8, 32767, 32768, 1 << 20, 1 << 31, 1 << 40, .max, .min]
        let b = byte()
        if b < 128 { return special[Int(b) % special.count] }
        return (0..<8).reduce(Int64(0)) { v, _ in v << 8 | Int64(byte()) }
    }
    mutating func double() -> Double {
        let special: [Double] = [0, 1, -1, 0.5, 0.875, 1e-300, 1e300, .nan, .infinity, -.infinity]
        let b = byte()
        if b < 128 { return special[Int(b) % special.count] }
        return Double(bitPattern: (0..<8).reduce(UInt64(0)) { v, _ in v << 8 | UInt64(byte()) })
    }
    mutating func float() -> Float {
        let special: [Float] = [0, 1, -1, 0.25, .nan, .infinity, -.infinity, .greatestFiniteMagnitude, 1e-30]
        let b = byte()
        if b < 128 { return special[Int(b) % special.count] }
        return Float(bitPattern: (0..<4).reduce(UInt32(0)) { v, _ in v << 8 | UInt32(byte()) })
    }
    mutating func string() -> String {
        let known = ["", "semcom-cache", "a", "b", "deit_tiny", "/nonexistent", "../x", "a:mean", "\u{0}x", String(repeating: "z", count: 300)]
        let b = byte()
        if b < 128 { return known[Int(b) % known.count] }
        let n = Int(byte()) % 12
        return String(decoding: (0..<n).map { _ in byte() }, as: UTF8.self)
    }
}

let runAttributes = ["num_classes", "embed_dim", "depth", "num_heads", "patch_size", "completed",
                     "low_resolution", "arch", "weights", "weights_sha256"]
let rootAttributes = ["format", "format_version", "image_size", "crop_pct", "images_root", "batch"]
let datasets = [CacheLayout.paths, CacheLayout.labels, CacheLayout.status, CacheLayout.errors, CacheLayout.bytes,
                CacheLayout.sha256, "/memo/b/a:mean", "/memo/b/random:0", "/memo_top5/b/a:mean"]
    + ["a", "b"].flatMap { run in CacheLayout.runDatasets.map { "/runs/\(run)/\($0)" } }
let groups = ["/runs", "/runs/a", "/runs/b", "/images", "/memo", "/memo/b", "/runs/a/importance"]

/// The valid cache every input starts from.
func writeBaseCache() throws {
    let n = 4, classes = 3, heads = 2, patches = 4
    let f = try HDF5File.create(cachePath)
    let images = ImageList(paths: (0..<n).map { "\(folder)/img\($0).png" }, labels: [0, 1, 2, -1])
    try CacheLayout.create(in: f, images: images, preprocessing: Preprocessing(size: 8, cropPct: 1), batch: 4,
                           statuses: Array(repeating: .read, count: n))
    let config = ViTConfig(imageSize: 8, patchSize: 4, embedDim: 8, depth: 1, numHeads: heads, numClasses: classes)
    for run in ["a", "b"] {
        try CacheLayout.createRun(in: f, model: ModelSpec(name: run, arch: "auto", weights: "/nonexistent/\(run).safetensors"),
                                  sha256: String(repeating: "0", count: 64), config: config, images: n, completed: n)
        let logits = (0..<(n * classes)).map { Float(($0 * 7 + (run == "a" ? 1 : 2)) % 5) }
        try f.openDataset("/runs/\(run)/logits").write(logits)
        let scores = (0..<(n * patches)).map { Float(($0 * 5) % 7 + 1) / 16 }
        for m in ["mean", "rollout", "textbook"] { try f.openDataset("/runs/\(run)/importance/\(m)").write(scores) }
        try f.openDataset("/runs/\(run)/attention/last").write((0..<(n * heads * (1 + patches))).map { Float($0 % 5 + 1) / 15 })
    }
    let memo = try MemoTable.create(in: f, key: "/memo/b/a:mean", images: n, columns: patches + 1)
    try memo.write((0..<(n * (patches + 1))).map { Int16($0 % classes) })
    let top5 = try MemoTable.createTop5(in: f, key: "/memo/b/a:mean", images: n, columns: patches + 1)
    try top5.write((0..<(n * (patches + 1) * MemoTable.ranks)).map { j -> Int16 in
        let rank = j % MemoTable.ranks  // past the class count: -2
        return rank < classes ? Int16((j / MemoTable.ranks + rank) % classes) : -2
    })
}

/// One edit to the file, chosen by the input.
func edit(_ f: HDF5File, _ r: inout Reader) throws {
    func target() throws -> HDF5Object {
        let run = r.pick(["/", "/runs/a", "/runs/b"])
        return run == "/" ? f : try f.openGroup(run)
    }
    func setAttribute(_ o: HDF5Object, _ name: String) throws {
        switch r.byte() % 4 {
        case 0: try o.setAttribute(name, to: r.int64())
        case 1: try o.setAttribute(name, to: r.double())
        case 2: try o.setAttribute(name, to: r.string())
        default: try o.setAttribute(name, to: [r.int64(), r.int64()])
        }
    }
    func replaceDataset(_ path: String) throws {
        if try f.contains(path) { try f.remove(path) }
        let rank = Int(r.byte()) % 4
        let shape = (0..<rank).map { _ in Int(r.byte()) % 10 }
        let count = shape.reduce(1, *)
        switch r.byte() % 7 {
        case 0: try f.createDataset(path, values: (0..<count).map { _ in r.float() }, shape: shape)
        case 1: try f.createDataset(path, values: (0..<count).map { _ in Int16(truncatingIfNeeded: r.int64()) }, shape: shape)
        case 2: try f.createDataset(path, values: (0..<count).map { _ in Int32(truncatingIfNeeded: r.int64()) }, shape: shape)
        case 3: try f.createDataset(path, values: (0..<count).map { _ in Int8(truncatingIfNeeded: r.int64()) }, shape: shape)
        case 4: try f.createDataset(path, values: (0..<count).map { _ in r.byte() }, shape: shape)
        case 5: try f.createDataset(path, values: (0..<count).map { _ in r.string() }, shape: shape)
        default: try f.createDataset(path, values: (0..<count).map { _ in r.double() }, shape: shape)
        }
    }
    switch r.byte() % 7 {
    case 0: try setAttribute(target(), r.pick(rootAttributes))
    case 1: try setAttribute(target(), r.pick(runAttributes))
    case 2:
        let o = try target(), name = r.pick(rootAttributes + runAttributes)
        if try o.hasAttribute(name) { try o.removeAttribute(name) }
    case 3: try replaceDataset(r.pick(datasets))
    case 4:
        let path = r.pick(datasets + groups)
        if try f.contains(path) { try f.remove(path) }
    case 5:  // one value of a float dataset, in place
        let path = r.pick(datasets)
        guard try f.contains(path), try f.kind(of: path) == .dataset else { return }
        let d = try f.openDataset(path)
        guard try d.elementType == .float32, case let shape = try d.shape, !shape.isEmpty, !shape.contains(0) else { return }
        let start = shape.map { Int(r.byte()) % $0 }
        try d.write([r.float()], start: start, count: shape.map { _ in 1 })
    default:  // a group where a dataset belongs
        let path = r.pick(datasets)
        if try f.contains(path) { try f.remove(path) }
        try f.createGroup(path)
    }
}

/// Uses the cache as `semcom` does; errors are expected, traps are findings.
func use() {
    guard let cache = try? Cache(path: cachePath) else { return }
    _ = try? CacheInfo(cache)
    _ = try? cache.preprocessing
    _ = try? cache.pins()
    for run in (try? cache.runNames()) ?? [] {
        _ = try? cache.logits(run)
        for m: ImportanceMeasure in [.mean, .rollout, .textbook, .head(0), .head(1), .head(7)] { _ = try? cache.importance(run, measure: m) }
    }
    for partial in [false, true] {
        let e = Evaluator(cache: cache)
        e.allowPartial = partial
        _ = try? e.evaluate(Setting(edge: "a", server: "b", rule: .sum(0.5), gate: .minEntropy(0.5)))
        _ = try? e.sweep(Setting(edge: "a", server: "b", rule: .topK(2), gate: .shannon(1)),
                         ruleParameters: [1, 2, 4], gateThresholds: [0, 0.5, 2])
        _ = try? e.evaluate(Setting(edge: "b", server: "a", rule: .threshold(0.1), gate: .margin(0.2)))
    }
    let session = Session()
    session.outputDirectory = folder
    for line in ["open \(cachePath)", "describe", "eval", "sweep gate 0:1:0.5", "pareto", "table patches",
                 "table transmit", "models", "lowres", "latency 1,8", "histogram mean rollout head:1"] {
        _ = try? session.execute(line)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var r = Reader(bytes: Array(UnsafeBufferPointer(start: data, count: size)))
    do {
        try writeBaseCache()
        let f = try HDF5File.open(cachePath, mode: .readWrite)
        for _ in 0..<12 where !r.done { try? edit(f, &r) }
    } catch {
        fatalError("cannot write the base cache: \(error)")
    }
    use()
    return 0
}
