import Attention
import CEditLine
import Foundation
import Safety

/// Reads command lines: on a terminal through libedit (line editing,
/// history kept in a file across sessions, tab completion); from a pipe as
/// plain lines with no prompt.
///
/// Ctrl-C at the prompt drops the line typed so far (`Input.interrupted`),
/// like a shell; there it is a key, not a signal. In libedit's edit mode the
/// terminal keeps ISIG, so ^C would raise SIGINT, and that is unreliable:
/// libedit's handler (rl_catch_signals) puts the terminal back in cooked
/// mode and sends the signal again to the process group, and `readline()`
/// returns (NULL, as at the end of input) only if the read it interrupts is
/// its own, while libdispatch (behind `Interruption`) may take the signal
/// first through its signalfd and leave `readline()` waiting. The ^C key
/// itself is bound to `ed-tty-sigint`, which does nothing. So before each
/// line the edit mode drops ISIG (`setty -d -isig`) and the interrupt key is
/// bound to a function that ends the line. While a command runs the
/// terminal is in its own (cooked) mode, so Ctrl-C is SIGINT, for
/// `Interruption`. A signal sent from elsewhere while at the prompt
/// (kill -INT) may end `readline()` (EINTR): `.signal`.
public final class LineReader {
    public let interactive: Bool
    let historyFile: String?

    /// What `read` got.
    public enum Input: Equatable {
        case line(String)
        /// Ctrl-C at the prompt: the line typed so far is dropped.
        case interrupted
        /// A signal sent to the process ended the wait (EINTR); the line typed so far is dropped.
        case signal
        /// Ctrl-D on an empty line, or the end of the piped input.
        case end
    }

    /// - Parameters:
    ///   - historyFile: where history is loaded from and saved to (terminal only).
    ///   - completions: the words that may complete the text typed so far.
    public init(historyFile: String?, completions: @escaping (String) -> [String]) {
        interactive = isatty(STDIN_FILENO) != 0
        self.historyFile = historyFile
        guard interactive else { return }
        LineReader.completer = completions
        semcom_rl_set_completion { text, state in
            guard let text else { return nil }
            if state == 0 { LineReader.matches = LineReader.completer(String(cString: text)) }
            guard Int(state) < LineReader.matches.count else { return nil }
            return strdup(LineReader.matches[Int(state)])
        }
        _ = rl_initialize()
        // The interrupt key (^C unless stty says otherwise) as a key of the edit mode.
        var t = termios()
        var key: Int32 = 3
        if tcgetattr(STDIN_FILENO, &t) == 0 {
            let c = withUnsafeBytes(of: &t.c_cc) { Int32($0[Int(VINTR)]) }
            if c != 0 && c != 0xff { key = c }  // _POSIX_VDISABLE is 0 on Linux
        }
        _ = rl_add_defun("semcom-interrupt", { _, _ in
            LineReader.interruptTyped = true
            semcom_rl_set_done()  // ends readline(), which returns NULL
            return 0
        }, key)
        LineReader.interruptKey = key < 32 ? "^" + String(UnicodeScalar(UInt8(key + 64))) : key == 127 ? "^?" : String(UnicodeScalar(UInt8(key)))
        // Each readline() resets libedit's terminal modes and binds the
        // terminal's keys again (tty_init), so this is done before each line.
        semcom_rl_set_pre_input_hook {
            _ = rl_parse_and_bind("setty -d -isig")
            _ = rl_parse_and_bind("bind \(LineReader.interruptKey) semcom-interrupt")
            return 0
        }
        if let historyFile { _ = read_history(historyFile) }
    }

    // libedit's callbacks are C functions that cannot capture, so their state is
    // static. Safe: only the thread inside `read(prompt:)` (readline and the
    // callbacks it makes) touches it, and a process runs one REPL.
    nonisolated(unsafe) static var completer: (String) -> [String] = { _ in [] }
    nonisolated(unsafe) static var matches: [String] = []
    nonisolated(unsafe) static var interruptTyped = false
    nonisolated(unsafe) static var interruptKey = "^C"

    /// The next line, `.interrupted` (Ctrl-C at the prompt; "^C" and a new
    /// line are printed, so the next prompt starts afresh), `.signal`, or `.end`.
    public func read(prompt: String) -> Input {
        guard interactive else { return Swift.readLine().map(Input.line) ?? .end }
        LineReader.interruptTyped = false
        errno = 0
        guard let raw = readline(prompt) else {
            let signalled = errno == EINTR
            print(LineReader.interruptTyped ? "^C" : "")
            flushStandardOutput()
            return LineReader.interruptTyped ? .interrupted : signalled ? .signal : .end
        }
        defer { free(raw) }
        let line = String(cString: raw)
        if !line.trimmingCharacters(in: .whitespaces).isEmpty {
            _ = add_history(raw)
            if let historyFile { _ = write_history(historyFile) }
        }
        return .line(line)
    }
}

extension Session {
    /// Completion candidates: command names, setting names, run names, file names are left to the user.
    public func completions(for prefix: String) -> [String] {
        var words = Command.all.map(\.name)
        words += settingNames + ImportanceMeasure.stored.map(\.description) + ["settings", "patches", "transmit", "sweep", "pareto", "hist", "latency", "lines"]
        if let runs = try? cache?.runNames() { words += runs }
        return Array(Set(words.filter { $0.hasPrefix(prefix) })).sorted()
    }
}

/// Flushes the C `stdout` stream (Swift's `print` writes through it): before
/// writing to stderr or waiting, so that output appears in order.
public func flushStandardOutput() { semcom_flush_stdout() }
