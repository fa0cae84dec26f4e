import Attention
import CEditLine
import Entropy
import Foundation
import Safety
import Wire

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
    ///   - completions: given the line typed before the cursor, the words
    ///     that may replace its last word (`Session.completions(for:)`).
    public init(historyFile: String?, completions: @escaping (String) -> [String]) {
        interactive = isatty(STDIN_FILENO) != 0
        self.historyFile = historyFile
        guard interactive else { return }
        LineReader.completer = completions
        // libedit asks for the matches of the word before the cursor one by
        // one (state 0, 1, ...); they are computed at state 0 from the line.
        semcom_rl_set_completion { text, state in
            guard let text else { return nil }
            if state == 0 {
                let line = LineReader.lineBeforeCursor()
                LineReader.matches = LineReader.replacements(LineReader.completer(line), line: line, word: String(cString: text))
                // No space after a single match that goes on: `sum:`, `head:`, a folder's `/`.
                let goesOn = LineReader.matches.count == 1 && [":", "/"].contains(LineReader.matches[0].last)
                semcom_rl_set_completion_append_character(goesOn ? 0 : 32)
            }
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

    /// The text of the line before the cursor, from libedit's line buffer
    /// and cursor offset (bytes) while it completes.
    static func lineBeforeCursor() -> String {
        guard let buffer = semcom_rl_line_buffer() else { return "" }
        let bytes = UnsafeRawBufferPointer(start: buffer, count: strlen(buffer))
        return String(decoding: bytes.prefix(max(0, Int(semcom_rl_point()))), as: UTF8.self)
    }

    /// The candidates (replacements of the last word of `line`, the text
    /// after its last space) as replacements of libedit's `word`, which is
    /// that word or its end: libedit also breaks words at characters such as
    /// `=`, `$` and `@`. A candidate `@sweep` for the typed `@sw` is `sweep`
    /// for libedit's `sw`.
    static func replacements(_ candidates: [String], line: String, word: String) -> [String] {
        let last = line.last.map(\.isWhitespace) ?? true ? "" : String(line.split(whereSeparator: \.isWhitespace).last!)
        guard last.hasSuffix(word), last.count > word.count else { return candidates }
        let cut = last.count - word.count
        return candidates.map { String($0.dropFirst(cut)) }
    }

    /// The next line, `.interrupted` (Ctrl-C at the prompt; "^C" and a new
    /// line are printed, so the next prompt starts afresh), `.signal`, or `.end`.
    /// With `history` false the line is not kept in the history (an answer to a question).
    public func read(prompt: String, history: Bool = true) -> Input {
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
        if history && !line.trimmingCharacters(in: .whitespaces).isEmpty {
            _ = add_history(raw)
            if let historyFile { _ = write_history(historyFile) }
        }
        return .line(line)
    }
}

extension Session {
    /// Tab completion: the words that may replace the last word of `line`,
    /// the text typed before the cursor (its last word is the text after the
    /// last space, empty after a space), those that start with it, sorted.
    /// By context (the words before it):
    /// - none: command names;
    /// - `set`: setting names; `set rule`: the rule kinds of
    ///   `SelectionRule.syntax` (`sum:` ...); `set gate`: the gates of
    ///   `Gate.syntax`; `set measure`: `measureNames()` (the encoder run's);
    ///   `set edge|server|encoder`: run names; `set partial`: on, off;
    ///   `set out`: folders;
    /// - `help`: commands and topics; `require`: run names; `histogram`: measures;
    /// - `open`: `.h5` files, `export`: `.csv`, `image I`: `.png`, and every
    ///   argument of `plot` after the first: `.svg` files (with the measures
    ///   of `plot hist`, the saved results and their columns for `plot
    ///   lines`); file names are those in the folder of the typed text
    ///   (outputs under `outputDirectory`, as they are written), folders
    ///   with a trailing `/`;
    /// - another command's first argument: the lower-case words of its usage
    ///   (`table` `patches`, `transmit`).
    public func completions(for line: String) -> [String] {
        if line.contains("#") { return [] }  // a comment
        var words = line.split(whereSeparator: \.isWhitespace).map(String.init)
        let partial = line.last.map(\.isWhitespace) ?? true ? "" : words.removeLast()
        return Array(Set(candidates(after: words, partial: partial).filter { $0.hasPrefix(partial) })).sorted()
    }

    /// The completions of the word after `words` (`completions(for:)`), `partial` typed so far.
    func candidates(after words: [String], partial: String) -> [String] {
        guard let command = words.first else { return Command.all.map(\.name) }
        let position = words.count  // of the word being completed: 1 is the first argument
        let runs = (try? cache?.runNames()) ?? []
        switch (command, position) {
        case ("set", 1): return settingNames
        case ("set", 2):
            switch words[1] {
            case "rule": return syntaxKeywords(SelectionRule.syntax) { SelectionRule(parsing: $0) != nil }
            case "gate": return syntaxKeywords(Gate.syntax) { Gate(parsing: $0) != nil }
            case "measure": return measureNames()
            case "edge", "server", "encoder": return runs
            case "partial": return ["on", "off"]
            case "codec": return ["none", "raw"] + ((try? cache?.codecs()) ?? []).filter { !$0.isWholeImage }.map(\.description)
            case "out": return fileNames(completing: partial, withExtension: nil, in: ".")
            default: return []
            }
        case ("help", 1): return Command.all.map(\.name) + HelpTopic.all.map(\.name)
        case ("require", _): return runs
        case ("histogram", _): return measureNames()
        case ("open", 1): return fileNames(completing: partial, withExtension: "h5", in: ".")
        case ("export", 1): return fileNames(completing: partial, withExtension: "csv", in: outputDirectory)
        case ("image", 2): return fileNames(completing: partial, withExtension: "png", in: outputDirectory)
        case ("plot", 2...):
            let svg = fileNames(completing: partial, withExtension: "svg", in: outputDirectory)
            switch words[1] {
            case "hist": return svg + measureNames() + (position == 2 ? ["log"] : [])
            case "lines" where position <= 3: return Array(Set(saved.values.flatMap(\.columns)))
            case "lines": return svg + saved.keys.flatMap { [$0, "@" + $0] }
            default: return svg
            }
        case (_, 1): return Command.named(command).map { usageKeywords($0) } ?? []
        default: return []
        }
    }

    /// The lower-case words of a command's usage other than its name: the
    /// keywords its first argument takes (`table patches ... | table transmit ...`).
    func usageKeywords(_ command: Command) -> [String] {
        command.usage.split(whereSeparator: { $0 == " " || $0 == "|" }).map(String.init)
            .filter { $0 != command.name && $0.allSatisfy { ("a"..."z").contains($0) } }
    }

    /// The names of the entries of the folder of `partial` (its text up to
    /// the last `/`, under `base` unless it starts with `/`) that start with
    /// the rest of it, each with that folder's text before it: folders with a
    /// trailing `/`, files only when their name ends in `.EXTENSION` (nil:
    /// none). Entries starting with a dot only when the rest does.
    func fileNames(completing partial: String, withExtension ext: String?, in base: String) -> [String] {
        let folder = partial.lastIndex(of: "/").map { String(partial[...$0]) } ?? ""
        let start = String(partial.dropFirst(folder.count))
        let path = folder.hasPrefix("/") ? folder : base + "/" + folder
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return [] }
        return names.filter { $0.hasPrefix(start) && ($0.first != "." || start.first == ".") }.compactMap { name in
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path + "/" + name, isDirectory: &isFolder) else { return nil }
            if isFolder.boolValue { return folder + name + "/" }
            guard let ext, name.lowercased().hasSuffix("." + ext) else { return nil }
            return folder + name
        }
    }
}

/// Flushes the C `stdout` stream (Swift's `print` writes through it): before
/// writing to stderr or waiting, so that output appears in order.
public func flushStandardOutput() { semcom_flush_stdout() }

/// The spellings a syntax string names (`SelectionRule.syntax`,
/// `Gate.syntax`), in order: `NAME:` for each form `NAME:PARAMETER...`, and
/// each bare word that `parses` on its own (the gate `none`).
func syntaxKeywords(_ syntax: String, parses: (String) -> Bool) -> [String] {
    var keywords: [String] = []
    for token in syntax.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == ":") }).map(String.init) {
        let name = token.prefix { $0 != ":" }
        let keyword = token.contains(":") ? name + ":" : token
        guard !name.isEmpty, name.allSatisfy(\.isLowercase), token.contains(":") || parses(token), !keywords.contains(keyword) else { continue }
        keywords.append(keyword)
    }
    return keywords
}
