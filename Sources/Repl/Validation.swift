import Attention
import Collaborative
import Entropy
import Foundation
import Imaging

/// Issue 10: every option is checked where it is parsed, from one definition
/// shared by the CLI (`validate()`, and when the cache is opened) and the
/// REPL (`set`, `sweep`, `table`, `latency`). Each check throws one line
/// naming the option and the bad value, before any work or allocation.
public enum Limits {
    /// Images per forward pass: 1...4096.
    public static let batch = 1...4096
    /// Threads: 1 to four times the cores.
    public static var threads: ClosedRange<Int> { 1...(4 * max(1, ProcessInfo.processInfo.activeProcessorCount)) }
    /// Shards of a build: n in 1...100,000.
    public static let shards = 100_000
    /// Crop fraction and network input side (`Preprocessing.cropPcts`, `.sizes`).
    public static let cropPct = Preprocessing.cropPcts
    public static let size = Preprocessing.sizes

    /// Checks `--batch`.
    public static func check(batch: Int, option: String = "--batch") throws {
        guard Limits.batch.contains(batch) else { throw ReplError("\(option) \(batch): expected images per pass in \(Limits.batch.lowerBound)...\(Limits.batch.upperBound)") }
    }

    /// Checks `--threads` (too many threads crawl or exhaust the process).
    public static func check(threads: Int, option: String = "--threads") throws {
        let r = Limits.threads
        guard r.contains(threads) else {
            throw ReplError("\(option) \(threads): expected 1...\(r.upperBound) (at most 4 x the \(ProcessInfo.processInfo.activeProcessorCount) cores)")
        }
    }

    /// Parses `--shard`: `i/n` (0 <= i < n <= `shards`); `auto`, the place
    /// of this task in a Slurm job array (`SLURM_ARRAY_TASK_ID` with
    /// `SLURM_ARRAY_TASK_COUNT`, or with `_MIN`, `_MAX` and `_STEP`); or
    /// `auto/n`, the index of a Kubernetes Indexed Job
    /// (`JOB_COMPLETION_INDEX`) or an AWS Batch array job
    /// (`AWS_BATCH_JOB_ARRAY_INDEX`), or Slurm's, in n shards. `found` says
    /// which variables gave it (nil for `i/n`).
    public static func shard(_ text: String, option: String = "--shard",
                             environment: [String: String] = ProcessInfo.processInfo.environment) throws -> (index: Int, count: Int, found: String?) {
        let usage = "expected i/n with 0 <= i < n <= \(shards), auto (a Slurm array task) or auto/n (also a Kubernetes or AWS Batch array index)"
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(parts.count), parts[0] == "auto" || parts.count == 2 else { throw ReplError("\(option) '\(text)': \(usage)") }
        let given = parts.count == 2 ? Int(parts[1]) : nil
        guard parts.count == 1 || given.map({ (1...shards).contains($0) }) == true else { throw ReplError("\(option) '\(text)': \(usage)") }
        func inRange(_ i: Int, _ n: Int, _ found: String?) throws -> (index: Int, count: Int, found: String?) {
            guard i >= 0, i < n, n <= shards else { throw ReplError("\(option) '\(text)': shard \(i) of \(n)\(found.map { " (\($0))" } ?? ""): expected 0 <= i < n <= \(shards)") }
            return (i, n, found)
        }
        guard parts[0] == "auto" else {
            guard let i = Int(parts[0]), let n = given else { throw ReplError("\(option) '\(text)': \(usage)") }
            return try inRange(i, n, nil)
        }
        let env = { (name: String) -> Int? in environment[name].flatMap { Int($0) } }
        func said(_ names: [String]) -> String { names.compactMap { n in environment[n].map { "\(n)=\($0)" } }.joined(separator: ", ") }
        if let id = env("SLURM_ARRAY_TASK_ID") {
            let names = ["SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_STEP"]
            let low = env("SLURM_ARRAY_TASK_MIN") ?? 0, step = max(1, env("SLURM_ARRAY_TASK_STEP") ?? 1)
            let count = env("SLURM_ARRAY_TASK_COUNT") ?? env("SLURM_ARRAY_TASK_MAX").map { ($0 - low) / step + 1 }
            guard let n = count else { throw ReplError("\(option) auto: Slurm gives the task (\(said(names))) but not the array's size (SLURM_ARRAY_TASK_COUNT or _MAX)") }
            if let given, given != n { throw ReplError("\(option) '\(text)': the Slurm array has \(n) tasks (\(said(names)))") }
            return try inRange((id - low) / step, n, "Slurm: " + said(names))
        }
        for (scheduler, name) in [("Kubernetes", "JOB_COMPLETION_INDEX"), ("AWS Batch", "AWS_BATCH_JOB_ARRAY_INDEX")] {
            guard let i = env(name) else { continue }
            guard let n = given else { throw ReplError("\(option) auto: \(scheduler) gives the index (\(said([name]))) but not the count: use --shard auto/N") }
            return try inRange(i, n, "\(scheduler): \(said([name]))")
        }
        throw ReplError("\(option) '\(text)': no array index in the environment (SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX)")
    }

    /// Checks `--crop-pct` and `--size`.
    public static func check(cropPct: Double, size: Int) throws {
        guard cropPct.isFinite, Limits.cropPct.contains(cropPct) else {
            throw ReplError("--crop-pct \(cropPct): expected a fraction in [\(Limits.cropPct.lowerBound), \(Limits.cropPct.upperBound)]")
        }
        guard Limits.size.contains(size) else { throw ReplError("--size \(size): expected pixels in 1...\(Limits.size.upperBound)") }
    }

    /// Checks `--checkpoint-every`: seconds, finite and >= 0.
    public static func check(checkpointEvery seconds: Double) throws {
        guard seconds.isFinite, seconds >= 0 else { throw ReplError("--checkpoint-every \(seconds): expected seconds >= 0") }
    }

    /// Checks an uplink rate in Mbit/s: finite and > 0.
    public static func check(uplink: Double, option: String = "uplink") throws {
        guard uplink.isFinite, uplink > 0 else { throw ReplError("\(option) \(uplink): expected a finite rate > 0 in Mbit/s") }
    }

    /// `text`'s values (`parseValues`), each passed through `check`; errors name `option`.
    static func values(_ text: String, option: String, _ check: (Double) throws -> Void) throws -> [Double] {
        let values: [Double]
        do { values = try parseValues(text) } catch { throw ReplError("\(option) \(error)") }
        for v in values {
            do { try check(v) } catch { throw ReplError("\(option) '\(text)': \(error)") }
        }
        return values
    }

    /// `text`'s values as parameters of `rule`, each in its range.
    public static func ruleParameters(_ text: String, _ rule: SelectionRule, option: String = "rule") throws -> [Double] {
        try values(text, option: option) { _ = try rule.checked(parameter: $0) }
    }

    /// `text`'s values as thresholds of `gate`, each in its range.
    public static func gateThresholds(_ text: String, _ gate: Gate, option: String = "gate") throws -> [Double] {
        try values(text, option: option) { _ = try gate.checked(threshold: $0) }
    }

    /// `text`'s values as uplink rates (`latency`), each finite and > 0.
    public static func rates(_ text: String, option: String = "latency") throws -> [Double] {
        try values(text, option: option) { try check(uplink: $0, option: "rate") }
    }

    /// Checks a sweep's grid: at most `maxValues` points (rule parameters x gate thresholds).
    public static func check(grid rules: Int, gates: Int, option: String = "sweep") throws {
        let (n, overflow) = rules.multipliedReportingOverflow(by: gates)
        guard !overflow, n <= maxValues else {
            throw ReplError("\(option): \(rules) rule parameters x \(gates) gate thresholds is too many points (at most \(maxValues))")
        }
    }

    /// A run name of `cache`, or an error listing its runs with a did-you-mean.
    public static func check(run: String, role: String, in cache: Cache) throws {
        let runs = try cache.runNames()
        guard !runs.contains(run) else { return }
        let guess = closest(to: run, among: runs).map { "; did you mean '\($0)'?" } ?? ""
        throw ReplError("\(role) '\(run)' is not a run of \(cache.path)\(guess) (runs: \(runs.joined(separator: ", ")))")
    }

    /// Parses an importance measure (`ImportanceMeasure.parse`) and, with a
    /// cache, checks `head:I` against the run's heads; errors name `option`.
    public static func measure(_ text: String, run: String? = nil, in cache: Cache? = nil, option: String = "measure") throws -> ImportanceMeasure {
        let m: ImportanceMeasure
        do { m = try ImportanceMeasure.parse(text) } catch { throw ReplError("\(option) '\(text)': expected \(ImportanceMeasure.syntax)") }
        try check(measure: m, run: run, in: cache, option: option)
        return m
    }

    /// Checks `head:I` against the heads of `run` when it is a run of `cache`.
    public static func check(measure: ImportanceMeasure, run: String? = nil, in cache: Cache? = nil, option: String = "measure") throws {
        guard case .head(let i) = measure else { return }
        if let cache, let run, let names = try? cache.runNames(), names.contains(run) {
            let h = try cache.run(run).numHeads
            guard i < h else { throw ReplError("\(option) '\(measure)': run '\(run)' has \(h) head(s), expected head:I with 0 <= I < \(h)") }
        }
    }

    /// The patches `rule`'s k may not exceed: those of the encoder and the
    /// (full-resolution) server runs of `cache`, when they are runs of it.
    public static func patches(_ setting: Setting, in cache: Cache) -> Int? {
        guard let names = try? cache.runNames() else { return nil }
        let runs = [setting.encoder, setting.server].filter { names.contains($0) }.compactMap { try? cache.run($0) }
        return runs.filter { $0.lowResolution == nil }.map(\.numPatches).min()
    }

    /// Checks a whole setting against `cache` before any work: run names,
    /// the measure's head, the rule's k <= P, and optionally each swept k.
    public static func check(_ setting: Setting, in cache: Cache, ruleParameters: [Double]? = nil) throws {
        for (role, run) in [("edge", setting.edge), ("server", setting.server), ("encoder", setting.encoder)] {
            try check(run: run, role: role, in: cache)
        }
        try check(measure: setting.measure, run: setting.encoder, in: cache)
        if let p = patches(setting, in: cache) {
            do { try setting.rule.check(patches: p) } catch { throw ReplError(wrapping: error) }
            for x in ruleParameters ?? [] {
                do { try setting.rule.checked(parameter: x).check(patches: p) } catch { throw ReplError(wrapping: error) }
            }
        }
    }
}
