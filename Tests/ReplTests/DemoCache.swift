import Collaborative
import Foundation
import Imaging

/// A cache of 10 demo images (the first of each digit class), every run
/// the bundled edge model (64 patches, 3 heads): `runs` are `NAME` or
/// `NAME@R` (a low-resolution run at R px).
func demoCache(runs: [String]) -> String {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-demo-cache-\(UUID().uuidString)")
    let source = root.appendingPathComponent("Demo/digits/eval").path
    for c in 0..<10 {
        try! FileManager.default.createDirectory(atPath: "\(tmp.path)/data/\(c)", withIntermediateDirectories: true)
        let f = try! FileManager.default.contentsOfDirectory(atPath: "\(source)/\(c)").sorted()[0]
        try! FileManager.default.copyItem(atPath: "\(source)/\(c)/\(f)", toPath: "\(tmp.path)/data/\(c)/\(f)")
    }
    let weights = root.appendingPathComponent("Demo/models/edge.safetensors").path
    let models = runs.map { run in
        let parts = run.split(separator: "@")
        return ModelSpec(parsing: "\(parts[0])=auto:\(weights)" + (parts.count == 2 ? "@\(parts[1])" : ""))!
    }
    var builder = CacheBuilder(images: try! ImageList.load("\(tmp.path)/data"), models: models)
    builder.preprocessing = Preprocessing(size: 64, cropPct: 1)
    builder.batch = 10
    let out = tmp.appendingPathComponent("c.h5").path
    _ = try! builder.build(out)
    return out
}
