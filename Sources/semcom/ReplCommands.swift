import ArgumentParser
import Foundation
import Repl
import Tensors

/// `semcom repl`: the interactive command language over a cache.
struct ReplCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "repl", abstract: "A line-based REPL over a cache ('help' lists its commands).")

    @Argument(help: "Cache to open.")
    var cache: String?

    @Option(help: "Threads for computing missing server answers.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        let session = makeSession(threads: threads)
        let history = ProcessInfo.processInfo.environment["HOME"].map { $0 + "/.semcom_history" }
        let reader = LineReader(historyFile: history, completions: session.completions)
        if let cache { report(session, "open \(cache)") }
        while let line = reader.next(prompt: "semcom> ") {
            if !report(session, line) { break }
        }
    }

    /// Runs a line, printing its result or a one-line error; false on quit.
    @discardableResult
    func report(_ session: Session, _ line: String) -> Bool {
        do {
            let out = try session.execute(line)
            if !out.isEmpty { print(out) }
        } catch is QuitSignal {
            return false
        } catch {
            reportError("\(error)")
        }
        fflush(stdout)
        return true
    }
}

/// `semcom run`: the same commands from a script file.
struct RunScript: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run a .semcom script (REPL commands, # comments, variables); stops at the first error with file:line.")

    @Argument(help: "Script file.")
    var script: String

    @Option(help: "Cache to open before the script runs.")
    var cache: String?

    @Option(help: "Folder for the files the script writes.")
    var out: String?

    @Option(name: .customLong("set"), help: "NAME=VALUE: a variable for the script ($NAME).")
    var variables: [String] = []

    @Option(help: "Threads for computing missing server answers.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        let session = makeSession(threads: threads)
        for v in variables {
            guard let eq = v.firstIndex(of: "=") else { throw CLIError("--set '\(v)': expected NAME=VALUE") }
            session.variables[String(v[..<eq])] = String(v[v.index(after: eq)...])
        }
        if let out { session.outputDirectory = out; session.variables["out"] = out }
        do {
            if let cache { _ = try session.execute("open \(cache)") }
            try session.runScript(script) { print($0) }
        } catch {
            throw CLIError("\(error)")
        }
    }
}

/// A session whose server computations use `threads` and report progress on stderr.
func makeSession(threads: Int) -> Session {
    Threads.set(threads)
    let session = Session()
    session.progress = ProgressMeter(label: "server").callback
    return session
}
