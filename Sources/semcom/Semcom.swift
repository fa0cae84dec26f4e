import ArgumentParser
import Foundation

@main
struct Semcom: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Attention-aware collaborative inference with vision transformers.",
        version: semcomVersion,
        subcommands: [Preprocess.self, Infer.self, Bench.self])
}

/// The tool's version, recorded in the files it writes.
let semcomVersion = "0.1.0"

/// A failure to report as one line on stderr (`error: ...`) with exit code 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Options shared by commands that run a model.
struct ModelOptions: ParsableArguments {
    @Option(help: "Architecture: deit_tiny_patch16_224, deit_small_patch16_224, deit_base_patch16_224, or 'auto' to read it off the weights.")
    var arch: String = "auto"

    @Option(help: "Attention heads, when neither --arch nor a config.json beside the weights gives them.")
    var heads: Int?

    @Option(help: "Threads for BLAS and for the Swift-side loops.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func expectedConfig() throws -> ViTConfigOrNil {
        if arch == "auto" { return nil }
        guard let c = ViTConfig.named(arch) else {
            throw CLIError("unknown --arch '\(arch)'; known: \(ViTConfig.presets.keys.sorted().joined(separator: ", ")), auto")
        }
        return c
    }
}

import ViT
typealias ViTConfigOrNil = ViTConfig?
