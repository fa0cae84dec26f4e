import ArgumentParser
import Collaborative
import Foundation
import Repl
import Safety

/// `semcom plan`: what a sweep would cost before it runs.
struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The server answers a sweep needs and the memo lacks, their FLOPs and an estimated time, without computing them; optionally written as a plan file (JSON).")

    @OptionGroup var options: SettingOptions

    @OptionGroup var grid: GridOptions

    @Option(help: "Plan file (JSON) to write: the cache, server, ordering and the missing (image, k).")
    var out: String?

    @Flag(inversion: .prefixedNo, help: "Estimate the time from a short timed run of the server on random images (about a second; needs its weights).")
    var calibrate = true

    func validate() throws { _ = try grid.values(try options.setting()) }

    func run() throws {
        if let out { try checkOutput(out, kind: .text, inputs: [options.cache]) }
        let setting = try options.setting()
        let (rules, gates) = try grid.values(setting)
        let evaluator = try options.evaluator(checking: setting, ruleParameters: grid.ruleRange == nil ? nil : rules)
        let plan = try evaluator.plan(setting, ruleParameters: rules, gateThresholds: gates)
        print("server '\(plan.server)', ordering \(plan.ordering), \(rules.count) x \(gates.count) grid points:")
        report(plan, evaluator: evaluator, calibrate: calibrate, threads: options.threads)
        if let out { try write([plan], to: out) }
    }
}

/// Prints a plan's answers, FLOPs and (with `calibrate`) estimated time, the server timed on this machine.
func report(_ plan: MemoPlan, evaluator: Evaluator, calibrate: Bool, threads: Int) {
    print("server answers needed  \(thousands(plan.needed)), missing \(thousands(plan.missing)) (\(thousands(Set(plan.images).count)) images to decode)")
    print(String(format: "FLOPs of the missing    %.3g multiply-adds (eq. 9 on the prefix tokens plus k, summed)", plan.flops))
    guard calibrate && plan.missing > 0 else { return }
    do {
        let perFLOP = try evaluator.secondsPerFLOP(server: plan.server)
        print(String(format: "estimated time          %.1f s at %d thread(s) (%.2f GFLOP/s measured here on the full image; image decoding not counted)",
                     plan.flops * perFLOP, threads, 1e-9 / perFLOP))
    } catch {
        print("estimated time          not measured: \(errorMessage(error))")
    }
}

/// Writes plans as JSON for `semcom memo fill`: the first to `path`, any
/// further one to `path` with `.2.json`, `.3.json`, ... in place of its extension.
func write(_ plans: [MemoPlan], to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let stem = path.hasSuffix(".json") ? String(path.dropLast(5)) : path
    for (n, plan) in plans.enumerated() {
        let file = n == 0 ? path : "\(stem).\(n + 1).json"
        try AtomicWrite.write(String(decoding: try encoder.encode(plan), as: UTF8.self), to: file)
        print("wrote \(file) (server '\(plan.server)', ordering \(plan.ordering))")
    }
}
