import ArgumentParser
import Collaborative
import Foundation
import Repl
import Safety

/// `semcom memo`: fill a plan's server answers in shards, and fold the shards into the cache.
struct MemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memo", abstract: "Compute a plan's server answers in shards (one per machine or array task) and merge them into the cache.",
        subcommands: [Fill.self, Merge.self])

    struct Fill: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compute one shard of a plan (from `semcom plan --out`) into a memo shard file; run again to resume an interrupted shard.")

        @Option(help: "Plan file (JSON, from `semcom plan --out`).")
        var plan: String

        @Option(help: "The cache the plan was made for (default: the path the plan records).")
        var cache: String?

        @Option(help: "Shard i of n (i/n, 0-based; shards hold whole images, balanced by FLOPs); auto: this task of a Slurm job array; auto/N: of N, by Slurm's, a Kubernetes Indexed Job's or an AWS Batch array job's index. Default: the whole plan (0/1).")
        var shard: String = "0/1"

        @Option(help: "Memo shard file to write (or resume).")
        var out: String

        @Option(help: "Images per server forward pass.")
        var batch: Int = 16

        @Option(help: "Threads.")
        var threads: Int = ProcessInfo.processInfo.activeProcessorCount

        @Option(help: "Seconds between checkpoints (default: adaptive, about 2 % of the time).")
        var checkpointEvery: Double?

        func validate() throws {
            try usage { _ = try Limits.shard(shard) }
            try usage { try Limits.check(batch: batch) }
            try usage { try Limits.check(threads: threads) }
            if let c = checkpointEvery { try usage { try Limits.check(checkpointEvery: c) } }
        }

        func run() throws {
            let (i, n, found) = try Limits.shard(shard)
            if let found { print("shard \(i)/\(n) from \(found)") }
            let memoPlan = try MemoPlan.load(plan)
            let evaluator = Evaluator(cache: try Cache(path: cache ?? memoPlan.cache))
            evaluator.batch = batch
            evaluator.threads = threads
            evaluator.checkpointInterval = checkpointEvery
            evaluator.progress = ProgressMeter(label: "server").callback
            let written = try interruptible("stopping after the images in hand") {
                try evaluator.fill(plan: memoPlan, shard: i, of: n, into: out)
            }
            print("wrote \(out): shard \(i)/\(n), \(thousands(written.planned)) of the plan's \(thousands(memoPlan.missing)) server answers")
        }
    }

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fold every memo shard of a plan into the cache (the same answers as one unsharded fill).")

        @Argument(help: "Cache file.")
        var cache: String

        @Argument(help: "Memo shard files (all shards of one plan, any order).")
        var shards: [String]

        func run() throws {
            let added = try interruptible("stopping") { try Cache.mergeMemoShards(shards, into: cache) }
            print("\(cache): \(thousands(added)) server answers added from \(shards.count) shard(s)")
        }
    }
}
