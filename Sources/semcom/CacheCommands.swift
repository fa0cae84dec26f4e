import ArgumentParser
import Collaborative
import Foundation
import Tensors

/// `semcom cache`: run each model once over a dataset.
struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache", abstract: "Build, resume and merge the HDF5 cache of model outputs.",
        subcommands: [Build.self, Merge.self])

    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run each model once over the images and store logits, importance and attention (resumes an interrupted build).")

        @Option(help: "Cache file to write (or resume).")
        var out: String

        @Option(help: "An ImageFolder tree, a flat folder of wnid-prefixed images, or a CSV of path,label.")
        var images: String

        @Option(name: .customLong("model"), help: "NAME=ARCH:WEIGHTS (ARCH a preset or auto), or NAME=ARCH:WEIGHTS@R for a run on images sent at R x R pixels (the low-resolution baseline); repeat for each model.")
        var models: [String]

        @Option(help: "Use only the first N images (N >= 1).")
        var limit: Int?

        func validate() throws {
            if let limit, limit < 1 { throw ValidationError("--limit \(limit): expected a positive number of images") }
        }

        @Option(help: "Build shard i of n (i/n, 0-based; contiguous rows aligned to --batch) for `cache merge`.")
        var shard: String?

        @OptionGroup var image: ImageOptions

        @Option(help: "Images per forward pass.")
        var batch: Int = 16

        @Option(help: "Threads.")
        var threads: Int = ProcessInfo.processInfo.activeProcessorCount

        func run() throws {
            Threads.set(threads)
            let specs = try models.map { text -> ModelSpec in
                guard let m = ModelSpec(parsing: text) else { throw CLIError("--model '\(text)': expected NAME=ARCH:WEIGHTS or NAME=ARCH:WEIGHTS@R") }
                return m
            }
            guard Set(specs.map(\.name)).count == specs.count else { throw CLIError("--model names must differ") }
            var list = try ImageList.load(images)
            if let limit { list = list.limited(to: limit) }
            var builder = CacheBuilder(images: list, models: specs)
            if let shard {
                let parts = shard.split(separator: "/").compactMap { Int($0) }
                guard parts.count == 2, parts[1] > 0, (0..<parts[1]).contains(parts[0]) else {
                    throw CLIError("--shard '\(shard)': expected i/n with 0 <= i < n")
                }
                builder.images = list.shard(parts[0], of: parts[1], alignment: batch)
                builder.shard = (parts[0], parts[1])
            }
            builder.preprocessing = image.preprocessing
            builder.batch = batch
            builder.progress = ProgressMeter(label: "cache").callback
            try builder.build(out)
            print("wrote \(out): \(builder.images.count) images, runs \(specs.map(\.name).joined(separator: ", "))")
        }
    }

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Join shard caches into one file equal to an unsharded build.")

        @Option(help: "Merged cache to write.")
        var out: String

        @Argument(help: "Shard cache files (any order).")
        var shards: [String]

        func run() throws {
            try Cache.merge(shards: shards, into: out)
            print("wrote \(out)")
        }
    }
}

/// Progress on stderr: done/total, rate and ETA, redrawn in place on a terminal.
final class ProgressMeter {
    let label: String
    var start = Date()
    var lastDraw = Date.distantPast
    let terminal = isatty(STDERR_FILENO) != 0

    init(label: String) { self.label = label }

    func update(_ done: Int, _ total: Int) {
        let now = Date()
        if done == 0 { start = now }  // a new job: its own rate and ETA
        guard done == total || now.timeIntervalSince(lastDraw) > 0.5 else { return }
        lastDraw = now
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let line = String(format: "%@: %d/%d, %.1f/s, ETA %@", label, done, total, rate, Self.duration(eta))
        FileHandle.standardError.write(Data((terminal ? "\r\u{1B}[K" + line : line + "\n").utf8))
    }

    func finish() {
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    /// A progress callback that draws this meter and ends its line when done == total.
    var callback: (Int, Int) -> Void {
        { done, total in
            self.update(done, total)
            if done == total { self.finish() }
        }
    }

    static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? "\(t / 3600)h\(t % 3600 / 60)m" : t >= 60 ? "\(t / 60)m\(t % 60)s" : "\(t)s"
    }
}
