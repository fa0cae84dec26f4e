import ArgumentParser
import Collaborative
import Foundation
import Safety
import Repl
import ViT

@main
struct Semcom: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Attention-aware collaborative inference with vision transformers.",
        version: semcomLibraryVersion,
        subcommands: [Preprocess.self, Infer.self, Bench.self, CacheCommand.self, Eval.self, Sweep.self, Plan.self, MemoCommand.self, Table.self, ReplCommand.self, RunScript.self, Demo.self, Serve.self, EdgeCommand.self, LinkLoad.self, Relay.self, LinkReport.self])

    /// Exit status of bad usage (an unknown or malformed option, a value out
    /// of range, a run, head or k the cache does not have): 2, as the issue
    /// asks. swift-argument-parser itself exits 64 (EX_USAGE) for these;
    /// everything else (help 0, a failed command 1, `ExitCode`s such as 130
    /// after SIGINT) keeps its own status.
    static let usageStatus: Int32 = 2

    /// ArgumentParser's `main`, with its usage status 64 mapped to
    /// `usageStatus` and its message kept to one line: the error and where help is.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            // A Foundation error is printed as one line naming the file, never as its domain and code.
            if let line = foundationMessage(of: error) { exit(withError: CLIError(line, kind: ErrorKind(of: error))) }
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            let lines = fullMessage(for: error).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            let help = lines.first { $0.hasPrefix("See '") }.flatMap { $0.split(separator: "'").dropFirst().first }.map { " (see '\($0)')" } ?? ""
            FileHandle.standardError.write(Data(((lines.first ?? "Error: bad usage") + help + "\n").utf8))
            Foundation.exit(usageStatus)
        }
    }
}

/// Runs a `Limits` check inside `validate()`: its error becomes ArgumentParser's
/// `ValidationError` (the message and the usage, exit status 2).
@discardableResult
func usage<T>(_ check: () throws -> T) throws -> T {
    do { return try check() } catch let e as ValidationError { throw e } catch { throw ValidationError("\(error)") }
}

/// A failure reported as one line on stderr (`Error: ...`), exit code 1.
struct CLIError: KindedError {
    let description: String
    let kind: ErrorKind
    init(_ message: String, kind: ErrorKind = .badValue) {
        description = message
        self.kind = kind
    }
    /// `error`'s message and kind.
    init(wrapping error: any Error) { self.init(errorMessage(error), kind: ErrorKind(of: error)) }
}

/// Prints `error: message` on stderr (for per-item failures that do not stop a command).
func reportError(_ message: String) {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
}

/// Options shared by the commands that run a model.
struct ModelOptions: ParsableArguments {
    @Option(help: "Architecture: \(ModelRegistry.names.joined(separator: ", ")), or auto (read off the weights).")
    var arch: String = "auto"

    @Option(help: "Attention heads, when neither --arch nor a config.json beside the weights gives them.")
    var heads: Int?

    @Option(help: "Threads for the matrix products and the other loops.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        try usage { try Limits.check(threads: threads) }
        if let heads, !(1...4096).contains(heads) { throw ValidationError("--heads \(heads): expected 1...4096") }
    }

    /// The preset named by `--arch`, nil for auto.
    func expectedConfig() throws -> ViTConfig? {
        if arch == "auto" { return nil }
        guard let a = ModelRegistry.architecture(named: arch) else {
            throw CLIError("unknown --arch '\(arch)'; known: \(ModelRegistry.names.joined(separator: ", ")), auto")
        }
        return a.config
    }

    /// Loads the weights (checked against `--arch` when given).
    func load(_ path: String) throws -> any ImageClassifier {
        _ = try expectedConfig()  // an unknown --arch is a usage error
        return try ModelRegistry.load(arch, weightsPath: path, heads: heads)
    }
}
