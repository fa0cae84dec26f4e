import ArgumentParser
import Collaborative
import Entropy
import ExperimentScripts
import Foundation
import Repl
import Safety
import Tensors
import Wire

/// `semcom demo`: the whole method on the bundled data, or on real weights and images.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build the cache, print the headline and Tables I-III, and run every experiment script into --out.")

    @Option(help: "Edge weights (ARCH:FILE or FILE).")
    var edge = "auto:Demo/models/edge.safetensors"

    @Option(help: "Server weights (ARCH:FILE or FILE).")
    var server = "auto:Demo/models/server.safetensors"

    @Option(help: "Images: ImageFolder tree, flat wnid folder or CSV.")
    var images = "Demo/digits/eval"

    @OptionGroup var image: ImageOptions

    @Option(help: "Output folder.")
    var out = "out/demo"

    @Option(help: "Threads.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Folder of experiment scripts to run instead of those built into semcom (the repository's Experiments/).")
    var experiments: String?

    func validate() throws {
        try usage { try Limits.check(threads: threads) }
    }

    func run() throws {
        image.applyLimits()
        let (edgeSpec, serverSpec) = (try spec("edge", edge), try spec("server", server))
        // Size, crop, mean and std: the config beside the weights (the bundled models' is
        // Demo/models/config.json: 64 px, crop 1), then --size and --crop-pct.
        let preprocessing = try image.preprocessing(weights: [edgeSpec.weights, serverSpec.weights])
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let cachePath = out + "/cache.h5"
        let side = preprocessing.size
        // The low-resolution baseline of Fig. 10: the server on images sent at 1/4, 3/8 and 1/2 of the side.
        let lowResolution = [side / 4, side * 3 / 8, side / 2].map { (r: Int) in
            ModelSpec(name: "server_at_\(r)px", arch: serverSpec.arch, weights: serverSpec.weights, lowResolution: r)
        }
        // The whole-image JPEG baseline (the bytes figure): the server on crops sent as one JPEG.
        let wholeJPEG = Self.jpegQualities.map { (q: Int) -> ModelSpec in
            var m = ModelSpec(name: "server_jpeg\(q)", arch: serverSpec.arch, weights: serverSpec.weights)
            m.jpegQuality = q
            return m
        }
        var builder = CacheBuilder(images: try ImageList.load(images), models: [edgeSpec, serverSpec] + lowResolution + wholeJPEG)
        builder.codecs = Self.mosaicCodecs
        builder.preprocessing = preprocessing
        builder.threads = threads
        builder.progress = ProgressMeter(label: "cache").callback
        print("== cache: edge, server, the server at \(lowResolution.map { "\($0.lowResolution!)" }.joined(separator: ", ")) px and on JPEGs at quality \(Self.jpegQualities.map(String.init).joined(separator: ", ")); patch sizes under \(Self.mosaicCodecs.map(\.description).joined(separator: ", ")); over \(builder.images.count) images -> \(cachePath)")
        try interruptible("stopping after the batch in hand") { try builder.build(cachePath) }

        let cache = try Cache(path: cachePath)
        let e = Evaluator(cache: cache)
        e.threads = threads
        e.progress = ProgressMeter(label: "server").callback
        let setting = Setting(edge: "edge", server: "server")
        print("\n== headline (rule \(setting.rule), gate \(setting.gate))")
        print(evaluationTable([(setting, try e.evaluate(setting))]).text)
        let deltas = try Limits.ruleParameters("0.50:0.99:0.01", setting.rule, option: "demo")
        let etas = try Limits.gateThresholds("0:3.3:0.1", setting.gate, option: "demo")
        print(cheapestWithinOnePoint(setting, deltas: deltas, etas: etas, try e.sweep(setting, ruleParameters: deltas, gateThresholds: etas)))
        for (title, table) in [("Table I", { modelsTable(try e.modelSummaries()) }),
                               ("Table II", { try paperTable(e, setting, "patches", nil) }),
                               ("Table III", { try paperTable(e, setting, "transmit", nil) })] {
            print("\n== \(title)")
            print(try table().text)
        }
        print("\n== experiments -> \(out)")
        // The scripts' grids, coarser than their defaults so that the server answers they
        // need are computed in about two minutes on 2 cores: k from P/8 to P in steps of
        // P/8 (P patches), thresholds 0.1/P to 4/P, and 11 attention-sum thresholds.
        let p = try cache.run("server").numPatches
        let ks = "\(max(1, p / 8)):\(p):\(max(1, p / 8))"
        let ranges = ["ks": ks, "ks_fine": ks,
                      "taus": String(format: "%g:%g:%g", 0.1 / Double(p), 4.0 / Double(p), 0.2 / Double(p)),
                      "deltas": "0.5,0.6,0.7,0.8,0.85,0.9,0.93,0.95,0.97,0.98,0.99"]
            .merging(try figureImages(e, gate: setting.gate)) { $1 }
        for script in try scripts() {
            let s = makeSession(threads: threads)
            s.outputDirectory = out
            s.variables = ranges  // the runs ($edge, $server) come from the cache's roles
            try s.open(cachePath)
            do {
                try s.runScript(script.text, named: script.name) { _ in }
                print("  \(script.name): done")
            } catch {
                print("  \(script.name): skipped: \(errorMessage(error))")
            }
        }
        print("\nfigures (SVG, PNG) and tables (CSV) are in \(out)/; the cache is \(cachePath) (try: semcom repl \(cachePath))")
    }

    /// Qualities of the whole-image JPEG runs, and the patch-mosaic codecs whose
    /// sizes are recorded (Experiments/bytes.semcom).
    static let jpegQualities = [10, 25, 50, 90]
    static let mosaicCodecs: [Codec] = [.jpeg(quality: 50), .jpeg(quality: 90)]

    /// The experiment scripts: those of `--experiments DIR` (`.semcom` files, by
    /// name), or the ones built into semcom.
    func scripts() throws -> [(name: String, text: String)] {
        guard let experiments else { return Experiments.bundled }
        guard let listed = try? FileManager.default.contentsOfDirectory(atPath: experiments) else {
            throw CLIError("--experiments \(experiments): no such folder of experiment scripts; the cache and tables above are kept in \(out)", kind: .notFound)
        }
        return try listed.filter { $0.hasSuffix(".semcom") }.sorted().map { name in
            let path = experiments + "/" + name
            do { return (path, try String(contentsOfFile: path, encoding: .utf8)) } catch { throw CLIError("cannot read script \(errorMessage(error))", kind: ErrorKind(of: error)) }
        }
    }

    /// Images for Figs. 4-6 (variables i1, i2, i3): the first image the edge keeps
    /// at the default gate, then the first two it sends, each of another class;
    /// where there are none such, the first images not chosen yet (the same
    /// image again on a set of fewer than three).
    func figureImages(_ e: Evaluator, gate: Gate) throws -> [String: String] {
        guard let scores = try e.gateScores("edge", gate) else { return [:] }
        let labels = e.cache.images.labels
        let threshold = gate.scoreThreshold
        var chosen: [Int] = []
        for wantSent in [false, true, true] {
            let pick = scores.indices.first { i in
                (scores[i] >= threshold) == wantSent && !chosen.contains { labels[$0] == labels[i] }
            }
            if let pick { chosen.append(pick) }
        }
        for i in scores.indices where chosen.count < 3 && !chosen.contains(i) { chosen.append(i) }
        while let last = chosen.last, chosen.count < 3 { chosen.append(last) }
        return Dictionary(uniqueKeysWithValues: chosen.enumerated().map { ("i\($0 + 1)", "\($1)") })
    }

    /// `ARCH:FILE` or `FILE` (architecture read off the weights).
    func spec(_ name: String, _ text: String) throws -> ModelSpec {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        let (arch, file) = parts.count == 2 && !parts[0].contains("/") ? (parts[0], parts[1]) : ("auto", text)
        guard FileManager.default.fileExists(atPath: file) else {
            throw CLIError("--\(name) \(file): no such weights file (run from the repository root, or pass --\(name) ARCH:FILE)")
        }
        return ModelSpec(name: name, arch: arch, weights: file)
    }

    /// The cheapest Pareto point of the grid deltas x etas (row-major, as
    /// `Evaluator.sweep` returns it) whose accuracy is within 1 point of the server's.
    func cheapestWithinOnePoint(_ setting: Setting, deltas: [Double], etas: [Double], _ grid: [Evaluation]) -> String {
        let front = paretoFront(cost: grid.map(\.commCost), accuracy: grid.map(\.accuracy))
        let ok = grid.indices.filter { front[$0] && grid[$0].accuracy >= grid[$0].serverAccuracy - 0.01 }
        guard let best = ok.min(by: { grid[$0].commCost < grid[$1].commCost }) else { return "(no Pareto point within 1 point of the server)" }
        let (i, j) = best.quotientAndRemainder(dividingBy: etas.count)
        let r = grid[best]
        return "cheapest Pareto point within 1 point of the server: rule \(setting.rule.with(parameter: deltas[i])), gate \(setting.gate.with(threshold: etas[j])), accuracy \(Cell.number(r.accuracy)), communication cost \(Cell.number(r.commCost))"
    }
}
