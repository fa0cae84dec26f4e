import Foundation
import Safety

extension Session {
    /// Runs the script file at `path` (see `runScript(_:named:)`); the file is
    /// one of `inputFiles` while it runs, so no output replaces it.
    public func runScript(_ path: String, keepGoing: Bool = false, output: (String) -> Void,
                          failed: (ReplError) -> Void = { _ in }) throws {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch { throw ReplError("cannot read script \(errorMessage(error))", kind: ErrorKind(of: error)) }
        inputFiles.append(path)
        defer { inputFiles.removeLast() }
        try runScript(text, named: path, keepGoing: keepGoing, output: output, failed: failed)
    }

    /// Runs the lines of a script: `#` comments, variables; stops at the
    /// first error with `name:line: message` (the error's kind kept). With
    /// `keepGoing`, each failing line is passed to `failed` and the script goes
    /// on; it then throws at the end, counting the failures. A signal
    /// (`Interruption`) stops it at the next safe point of a command or
    /// between lines, with `Interrupted` naming the line.
    public func runScript(_ text: String, named name: String, keepGoing: Bool = false, output: (String) -> Void,
                          failed: (ReplError) -> Void = { _ in }) throws {
        var failures = 0
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            do {
                let out = try execute(String(line))
                if !out.isEmpty { output(out) }
            } catch is QuitSignal {
                return
            } catch let stop as Interrupted {
                throw Interrupted(signal: stop.signal, detail: "\(name):\(n + 1)" + (stop.detail.isEmpty ? "" : ": " + stop.detail))
            } catch {
                let located = ReplError("\(name):\(n + 1): \(errorMessage(error))", kind: ErrorKind(of: error),
                                        cause: (error as? ReplError)?.cause ?? error)
                guard keepGoing else { throw located }
                failed(located)
                failures += 1
            }
            if let s = Interruption.pending { throw Interrupted(signal: s, detail: "after \(name):\(n + 1)") }
        }
        if failures > 0 { throw ReplError("\(name): \(failures) line(s) failed", kind: .failed) }
    }
}
