import ArgumentParser
import Collaborative
import Wire
import Foundation
import Repl
import Safety
import Tensors

/// `semcom cache`: run each model once over a dataset.
struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache", abstract: "Build, resume, inspect and merge the HDF5 cache of model outputs.",
        subcommands: [Build.self, Info.self, Merge.self, Relocate.self])

    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run each model once over the images and store logits, importance and attention (resumes an interrupted build).")

        @Option(help: "Cache file to write (or resume).")
        var out: String

        @Option(help: "An ImageFolder tree, a flat folder of wnid-prefixed images, or a CSV of path,label.")
        var images: String

        @Option(name: .customLong("model"), help: "NAME=ARCH:WEIGHTS (ARCH a preset or auto), NAME=ARCH:WEIGHTS@R for a run on images sent at R x R pixels (the low-resolution baseline), or NAME=ARCH:WEIGHTS@jpeg:Q for a run on images sent whole as one JPEG at quality Q (the whole-image JPEG baseline); repeat for each model.")
        var models: [String]

        @Option(help: "Use only the first N images (N >= 1).")
        var limit: Int?

        @Option(name: .customLong("role"), help: "NAME=ROLE: what a run is for (edge, server, small_server, low_resolution, jpeg_baseline); repeatable. Default: by size (the fewest parameters is the edge, the most the server, the largest of the rest the small server; @R runs are low resolution, @jpeg:Q runs the JPEG baseline). Scripts and the REPL take their default runs from the roles.")
        var roles: [String] = []

        @Option(help: ArgumentHelp("Record per image the coded sizes under these codecs, comma-separated: jpeg:Q (each patch's bytes, for `--codec jpeg:Q` in eval and sweep) and full-jpeg:Q (the whole crop's bytes). Raw frames are counted exactly and need nothing."))
        var codec: String?

        func validate() throws {
            if let limit, limit < 1 { throw ValidationError("--limit \(limit): expected a positive number of images") }
            _ = try codecs()
            if let c = checkpointEvery { try usage { try Limits.check(checkpointEvery: c) } }
            try usage { try Limits.check(batch: batch) }
            try usage { try Limits.check(threads: threads) }
            if let shard { try usage { _ = try Limits.shard(shard) } }
        }

        @Option(help: "Build shard i of n (i/n, 0-based; contiguous rows aligned to --batch) for `cache merge`; auto: this task of a Slurm job array; auto/N: of N, by Slurm's, a Kubernetes Indexed Job's or an AWS Batch array job's index.")
        var shard: String?

        @OptionGroup var image: ImageOptions

        @Option(help: "Images per forward pass.")
        var batch: Int = 16

        @Option(help: "Threads.")
        var threads: Int = ProcessInfo.processInfo.activeProcessorCount

        @Flag(help: "Stop at the first image that cannot be read (default: record it in the cache, skip it everywhere, go on).")
        var strict = false

        @Option(help: "Seconds between checkpoints (default: adaptive, so that publishing costs about 2 % of the build).")
        var checkpointEvery: Double?

        /// The --codec list, each parsed; a bad or repeated one is a usage error.
        func codecs() throws -> [Codec] {
            guard let codec else { return [] }
            let list = try codec.split(separator: ",", omittingEmptySubsequences: false).map { text -> Codec in
                guard let c = Codec(parsing: String(text)) else { throw ValidationError("--codec '\(text)': expected \(Codec.syntax), comma-separated") }
                return c
            }
            guard Set(list).count == list.count else { throw ValidationError("--codec '\(codec)': a codec is given twice") }
            return list
        }

        func run() throws {
            image.applyLimits()
            var specs = try models.map { text -> ModelSpec in
                guard let m = ModelSpec(parsing: text) else { throw CLIError("--model '\(text)': expected NAME=ARCH:WEIGHTS, NAME=ARCH:WEIGHTS@R or NAME=ARCH:WEIGHTS@jpeg:Q (Q 1-100)") }
                return m
            }
            guard Set(specs.map(\.name)).count == specs.count else { throw CLIError("--model names must differ") }
            for text in roles {
                let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, let role = RunRole(rawValue: parts[1]) else {
                    throw ValidationError("--role '\(text)': expected NAME=ROLE with ROLE one of \(RunRole.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                guard let i = specs.firstIndex(where: { $0.name == parts[0] }) else {
                    throw ValidationError("--role '\(text)': no --model named '\(parts[0])' (models: \(specs.map(\.name).joined(separator: ", ")))")
                }
                specs[i].role = role
            }
            var list = try ImageList.load(images)
            if let limit { list = list.limited(to: limit) }
            var builder = CacheBuilder(images: list, models: specs)
            if let shard {
                let (i, n, found) = try Limits.shard(shard)
                if let found { print("shard \(i)/\(n) from \(found)") }
                builder.images = list.shard(i, of: n, alignment: batch)
                builder.shard = (i, n)
            }
            builder.preprocessing = try image.preprocessing(weights: specs.map(\.weights))
            builder.batch = batch
            builder.threads = threads
            builder.strict = strict
            builder.checkpointInterval = checkpointEvery
            builder.codecs = try codecs()
            builder.progress = ProgressMeter(label: "cache").callback
            let report = try interruptible("stopping after the batch in hand") { try builder.build(out) }
            print("wrote \(out): \(builder.images.count) images, runs \(specs.map(\.name).joined(separator: ", "))"
                  + String(format: " (%.2f s spent publishing checkpoints)", report.publishingSeconds))
            if report.unreadable > 0 {
                print("\(report.unreadable) image(s) could not be read and are skipped by every evaluation (semcom cache info \(out) lists them)")
            }
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Runs and their progress, images, memo fill per table, and any problems found.")

        @Argument(help: "Cache file.")
        var cache: String

        func run() throws {
            let info = try CacheInfo(Cache(path: cache))
            print("cache        \(info.path) (format \(info.formatVersion))")
            print("images       \(thousands(info.images)) (\(thousands(info.labelled)) labelled), under \(info.imagesRoot)")
            print("unreadable   \(info.unreadable.count)")
            for u in info.unreadable.prefix(10) { print("  row \(u.row): \(u.reason)") }
            if info.unreadable.count > 10 { print("  ... and \(info.unreadable.count - 10) more") }
            print("runs")
            for r in info.runs {
                let i = r.info
                let low = i.lowResolution.map { ", images at \($0) px" } ?? ""
                print("  \(i.name): \(i.arch), \(i.numClasses) classes, \(i.numPatches) patches\(low); \(thousands(i.completed)) of \(thousands(info.images)) images\(i.completed == info.images ? " (complete)" : "")")
            }
            if !info.codecs.isEmpty {
                print("codecs")
                for c in info.codecs { print("  \(c.codec): \(thousands(c.completed)) of \(thousands(info.images)) images\(c.meanBytes.map { String(format: ", %.0f bytes per image (all patches)", $0) } ?? "")") }
            }
            print("memo")
            if info.memos.isEmpty { print("  (none yet)") }
            for m in info.memos {
                print("  \(m.key): \(thousands(m.stored)) of \(thousands(m.rows * m.columns)) answers stored (\(m.rows) images x \(m.columns) k)")
            }
            print("problems")
            if info.problems.isEmpty { print("  none") }
            for p in info.problems { print("  \(p)") }
        }
    }

    struct Relocate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Point a cache at its images after the images folder moved (each image must be there with its recorded size).")

        @Argument(help: "Cache file.")
        var cache: String

        @Option(help: "The images folder's new place (the folder `semcom cache info` shows as the images root).")
        var imagesRoot: String

        func run() throws {
            let n = try Cache.relocate(cache, imagesRoot: imagesRoot)
            print("\(cache): \(n) images now under \(URL(fileURLWithPath: imagesRoot).standardizedFileURL.path)")
        }
    }

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Join shard caches into one file equal to an unsharded build.")

        @Option(help: "Merged cache to write.")
        var out: String

        @Argument(help: "Shard cache files (any order).")
        var shards: [String]

        func run() throws {
            try interruptible("stopping") { try Cache.merge(shards: shards, into: out) }
            print("wrote \(out)")
        }
    }
}

/// Runs `body` with SIGINT and SIGTERM turned into a stop at the next safe
/// point (`Interruption`): the stop's message (what was saved, how to resume)
/// goes to stderr and the process exits 130 (SIGINT) or 143 (SIGTERM). A second
/// signal exits at once; the files on disk stay whole either way.
@discardableResult
func interruptible<T>(_ stopping: String, atOnce: String = "the cache keeps its last checkpoint", _ body: () throws -> T) throws -> T {
    Interruption.install { s in
        FileHandle.standardError.write(Data("\n\(s == SIGTERM ? "SIGTERM" : "SIGINT"): \(stopping) (again to stop at once; \(atOnce))\n".utf8))
    }
    do {
        return try body()
    } catch let stop as Interrupted {
        reportError("\(stop)")
        throw ExitCode(128 + stop.signal)
    }
}

/// Progress on stderr: done/total, rate and ETA, redrawn in place on a terminal.
final class ProgressMeter {
    let label: String
    var start = Date()
    var lastDraw = Date.distantPast
    let terminal: Bool
    /// Where the lines go (standard error).
    var write: (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }

    init(label: String, terminal: Bool = isatty(STDERR_FILENO) != 0) {
        self.label = label
        self.terminal = terminal
    }

    /// The tenth of the job last reported (not on a terminal).
    var lastTenth = -1

    /// On a terminal the line is redrawn in place at most twice a second;
    /// otherwise (a log file, CI, a batch scheduler) a line is printed when a
    /// job starts and ends, and in between at each new tenth of the job but
    /// at most every 5 s, not once per batch.
    func update(_ done: Int, _ total: Int, at now: Date = Date()) {
        if done == 0 { start = now; lastTenth = -1 }  // a new job: its own rate and ETA
        if terminal {
            guard done == total || now.timeIntervalSince(lastDraw) > 0.5 else { return }
        } else {
            let tenth = total > 0 ? done * 10 / total : 10
            guard done == total || done == 0 || (tenth > lastTenth && now.timeIntervalSince(lastDraw) >= 5) else { return }
            lastTenth = tenth
        }
        lastDraw = now
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let line = String(format: "%@: %d/%d, %.1f/s, ETA %@", label, done, total, rate, Self.duration(eta))
        write(terminal ? "\r\u{1B}[K" + line : line + "\n")
    }

    func finish() {
        if terminal { write("\n") }
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
