import CEditLine
import Foundation

/// Reads command lines: on a terminal through libedit (line editing,
/// history kept in a file across sessions, tab completion); from a pipe as
/// plain lines with no prompt.
public final class LineReader {
    public let interactive: Bool
    let historyFile: String?

    /// - Parameters:
    ///   - historyFile: where history is loaded from and saved to (terminal only).
    ///   - completions: the words that may complete the text typed so far.
    public init(historyFile: String?, completions: @escaping (String) -> [String]) {
        interactive = isatty(STDIN_FILENO) != 0
        self.historyFile = historyFile
        guard interactive else { return }
        LineReader.completer = completions
        rl_completion_entry_function = { text, state in
            guard let text else { return nil }
            if state == 0 { LineReader.matches = LineReader.completer(String(cString: text)) }
            guard Int(state) < LineReader.matches.count else { return nil }
            return strdup(LineReader.matches[Int(state)])
        }
        if let historyFile { _ = read_history(historyFile) }
    }

    nonisolated(unsafe) static var completer: (String) -> [String] = { _ in [] }
    nonisolated(unsafe) static var matches: [String] = []

    /// The next line, or nil at the end of input.
    public func next(prompt: String) -> String? {
        guard interactive else { return Swift.readLine() }
        guard let raw = readline(prompt) else { return nil }
        defer { free(raw) }
        let line = String(cString: raw)
        if !line.trimmingCharacters(in: .whitespaces).isEmpty {
            _ = add_history(raw)
            if let historyFile { _ = write_history(historyFile) }
        }
        return line
    }
}

extension Session {
    /// Completion candidates: command names, setting names, run names, file names are left to the user.
    public func completions(for prefix: String) -> [String] {
        var words = Command.all.map(\.name)
        words += settingNames + ["settings", "mean", "rollout", "textbook", "patches", "transmit", "sweep", "pareto", "hist", "latency", "lines"]
        if let runs = try? cache?.runNames() { words += runs }
        return Array(Set(words.filter { $0.hasPrefix(prefix) })).sorted()
    }

    /// Runs the lines of a script: `#` comments, variables; stops at the
    /// first error with `file:line: message`.
    public func runScript(_ path: String, output: (String) -> Void) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ReplError("\(path): cannot read script") }
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            do {
                let out = try execute(String(line))
                if !out.isEmpty { output(out) }
            } catch is QuitSignal {
                return
            } catch {
                throw ReplError("\(path):\(n + 1): \(error)")
            }
        }
    }
}
