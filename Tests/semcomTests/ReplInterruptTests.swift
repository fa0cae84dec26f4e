import Foundation
import Repl
import Safety
@testable import semcom
import XCTest

/// Ctrl-C in the REPL: on a terminal it drops the line at the prompt and
/// stops a running command, keeping the session; a piped session or a
/// script stops (exit 128 + signal).
final class ReplInterruptTests: XCTestCase {
    var tmp: URL!
    var semcom: String { Bundle.main.bundleURL.appendingPathComponent("semcom").path }

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-replint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        Interruption.reset()
    }

    override func tearDownWithError() throws {
        Interruption.reset()
        try? FileManager.default.removeItem(at: tmp)
    }

    // MARK: A real terminal (tmux)

    /// `semcom repl` in a detached tmux pane, which stays after the REPL
    /// exits, to read its last words.
    ///
    /// The tmux server runs in the foreground (-D) as a child of the test:
    /// one that daemonizes would keep descriptors of `Process` that tell it
    /// when its child is gone, so the tmux client that started it would never
    /// be seen to end.
    struct GaveUp: Error {}

    final class Pane {
        let tmux: String, socket: String, statusFile: String
        let server = Process()

        init(tmux: String, socket: String, config: String, statusFile: String) throws {
            (self.tmux, self.socket, self.statusFile) = (tmux, socket, statusFile)
            server.executableURL = URL(fileURLWithPath: tmux)
            server.arguments = ["-D", "-S", socket, "-f", config]
            server.standardInput = FileHandle.nullDevice
            server.standardOutput = FileHandle.nullDevice
            server.standardError = FileHandle.nullDevice
            try server.run()
            let deadline = Date().addingTimeInterval(10)
            while !FileManager.default.fileExists(atPath: socket) && server.isRunning && Date() < deadline { usleep(20_000) }
        }

        /// Runs a tmux client command; its output.
        @discardableResult
        func run(_ arguments: [String]) throws -> String {
            let p = Process(), out = Pipe()
            p.executableURL = URL(fileURLWithPath: tmux)
            p.arguments = ["-S", socket] + arguments
            p.standardInput = FileHandle.nullDevice
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }

        /// The screen, trailing blanks and blank lines dropped.
        func screen() throws -> [String] {
            var lines = try run(["capture-pane", "-p"]).split(separator: "\n", omittingEmptySubsequences: false)
                .map { String($0.reversed().drop(while: { $0 == " " }).reversed()) }
            while lines.last?.isEmpty == true { lines.removeLast() }
            return lines
        }

        func keys(_ text: String) throws { try run(["send-keys", "-l", text]) }
        func key(_ name: String) throws { try run(["send-keys", name]) }

        /// The REPL's process: the child of the pane's shell.
        func pid() throws -> Int32? {
            let shell = try run(["display-message", "-p", "#{pane_pid}"]).trimmingCharacters(in: .whitespacesAndNewlines)
            let children = try? String(contentsOfFile: "/proc/\(shell)/task/\(shell)/children", encoding: .utf8)
            return children?.split(separator: " ").first.flatMap { Int32($0) }
        }

        /// Polls the screen until `condition` holds (10 s at most).
        func wait(_ what: String, file: StaticString = #filePath, line: UInt = #line, _ condition: ([String]) -> Bool) throws {
            let deadline = Date().addingTimeInterval(10)
            var lines = try screen()
            while !condition(lines) {
                guard Date() < deadline else {
                    XCTFail("timed out waiting for \(what); screen:\n" + lines.joined(separator: "\n"), file: file, line: line)
                    throw GaveUp()
                }
                usleep(50_000)
                lines = try screen()
            }
        }

        /// The REPL's exit status, which the pane's shell writes to `statusFile` (10 s at most).
        func waitForExit(file: StaticString = #filePath, line: UInt = #line) throws -> Int32? {
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                if let text = try? String(contentsOfFile: statusFile, encoding: .utf8), text.hasSuffix("\n") {
                    return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
                }
                usleep(50_000)
            }
            XCTFail("the REPL did not exit; screen:\n" + (try screen()).joined(separator: "\n"), file: file, line: line)
            return nil
        }

        func close() {
            _ = try? run(["kill-server"])
            let deadline = Date().addingTimeInterval(5)
            while server.isRunning && Date() < deadline { usleep(20_000) }
            if server.isRunning { server.terminate() }
        }
    }

    /// A tmux server on its own socket running `semcom repl` in a 100x40 pane; skips when tmux is not installed.
    func startPane() throws -> Pane {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init) + ["/usr/bin"]
        guard let tmux = paths.map({ $0 + "/tmux" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("tmux is not installed (apt-get install tmux): the terminal tests of Ctrl-C in the REPL are skipped")
        }
        let config = tmp.appendingPathComponent("tmux.conf")
        try "set -g remain-on-exit on\nset -g history-limit 100\n".write(to: config, atomically: true, encoding: .utf8)
        let pane = try Pane(tmux: tmux, socket: tmp.appendingPathComponent("tmux.sock").path, config: config.path,
                            statusFile: tmp.appendingPathComponent("status").path)
        addTeardownBlock { pane.close() }
        // A shell runs the REPL and writes its exit status (the shell survives
        // the signals libedit passes on to the process group); HOME in the
        // temporary folder: the history file goes there.
        try pane.run(["new-session", "-d", "-x", "100", "-y", "40", "/bin/sh", "-c", "trap : INT TERM; \"$@\"; echo $? > \"$0\"",
                      pane.statusFile, "env", "HOME=\(tmp.path)", "TERM=xterm", semcom, "repl"])
        try pane.wait("the first prompt") { $0.last == "semcom>" }
        return pane
    }

    func testCtrlCAtThePromptClearsTheLineAndKeepsTheSession() throws {
        let pane = try startPane()
        try pane.keys("show sett")
        try pane.wait("the typed text") { $0.last == "semcom> show sett" }
        try pane.key("C-c")
        try pane.wait("a fresh prompt after Ctrl-C") { $0.suffix(2) == ["semcom> show sett^C", "semcom>"] }

        try pane.keys("set rule sum:0.9\r")
        try pane.keys("let x = 5\r")
        try pane.wait("two more prompts") { $0.suffix(3) == ["semcom> set rule sum:0.9", "semcom> let x = 5", "semcom>"] }
        try pane.keys("set up")
        try pane.key("C-c")
        try pane.key("C-c")  // on an empty line: another fresh prompt
        try pane.wait("fresh prompts") { $0.suffix(3) == ["semcom> set up^C", "semcom> ^C", "semcom>"] }

        try pane.keys("set uplink $x\r")
        try pane.keys("show settings\r")
        try pane.wait("the settings") { $0.last == "semcom>" && $0.contains { $0.hasPrefix("out ") } }
        let screen = try pane.screen()
        XCTAssertTrue(screen.contains { $0.hasPrefix("rule ") && $0.hasSuffix(" sum:0.9") }, screen.joined(separator: "\n"))
        XCTAssertTrue(screen.contains { $0.hasPrefix("uplink ") && $0.hasSuffix(" 5.0 Mbit/s") }, "$x kept: \(screen.joined(separator: "\n"))")
        XCTAssertFalse(screen.contains { $0.contains("error") }, screen.joined(separator: "\n"))

        try pane.keys("quit\r")
        XCTAssertEqual(try pane.waitForExit(), 0)
    }

    /// SIGINT sent from elsewhere (not Ctrl-C) while at the prompt leaves the
    /// session as it was; SIGTERM ends the REPL (143), with the terminal as it was.
    /// (Whether SIGINT also gives a fresh prompt depends on which of libedit's
    /// handler and libdispatch's signalfd takes it first, so it is not tested.)
    func testSignalsAtThePrompt() throws {
        let pane = try startPane()
        let pid = try XCTUnwrap(try pane.pid())
        try pane.keys("let y = 7\r")
        try pane.wait("the prompt") { $0.suffix(2) == ["semcom> let y = 7", "semcom>"] }
        usleep(200_000)
        XCTAssertEqual(kill(pid, SIGINT), 0)
        usleep(200_000)
        XCTAssertEqual(try pane.pid(), pid, "still running")
        try pane.keys("set seed $y\r")
        try pane.keys("show settings\r")
        try pane.wait("the settings") { $0.last == "semcom>" && $0.contains { $0.hasPrefix("out ") } }
        XCTAssertTrue(try pane.screen().contains { $0.hasPrefix("seed ") && $0.hasSuffix(" 7") })
        XCTAssertEqual(kill(pid, SIGTERM), 0)
        XCTAssertEqual(try pane.waitForExit(), 128 + SIGTERM)
        XCTAssertTrue(try pane.screen().contains("interrupted (SIGTERM)"))
    }

    // MARK: A pipe

    func testPipedReplStopsOnSIGINT() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: semcom)
        process.arguments = ["repl"]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        // The REPL has answered a line: it is waiting for the next (the pipe stays open).
        input.fileHandleForWriting.write(Data("show settings\n".utf8))
        final class Box: @unchecked Sendable {
            let lock = NSLock()
            var text = ""
            func append(_ d: Data) { lock.lock(); text += String(decoding: d, as: UTF8.self); lock.unlock() }
            var value: String { lock.lock(); defer { lock.unlock() }; return text }
        }
        let out = Box(), err = Box()
        output.fileHandleForReading.readabilityHandler = { out.append($0.availableData) }
        errors.fileHandleForReading.readabilityHandler = { err.append($0.availableData) }
        defer {
            output.fileHandleForReading.readabilityHandler = nil
            errors.fileHandleForReading.readabilityHandler = nil
        }
        var deadline = Date().addingTimeInterval(10)
        while !out.value.contains("uplink") && Date() < deadline { usleep(20_000) }
        XCTAssertTrue(out.value.contains("uplink"), "stdout: \(out.value) stderr: \(err.value)")
        process.interrupt()  // SIGINT
        deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        XCTAssertFalse(process.isRunning, "a piped REPL waiting for input ends on SIGINT")
        guard !process.isRunning else { return }
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 128 + SIGINT)
        usleep(50_000)
        XCTAssertTrue(err.value.contains("interrupted (SIGINT)"), err.value)
        try? input.fileHandleForWriting.close()
    }

    // MARK: A command stopped at a safe point

    /// A cache of two images with runs `edge` and `server` (the demo model), memo empty.
    func buildCache() throws -> String {
        let dir = repositoryRoot.appendingPathComponent("Tests/Fixtures/imaging").path
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".jpg") }.sorted().prefix(2)
        let csv = tmp.appendingPathComponent("images.csv").path
        try (["path,label"] + files.enumerated().map { "\(dir)/\($1),\($0)" }).joined(separator: "\n").write(toFile: csv, atomically: true, encoding: .utf8)
        let weights = repositoryRoot.appendingPathComponent("Demo/demo-vit.safetensors").path
        let out = tmp.appendingPathComponent("c.h5").path
        let (status, _, stderr) = try runSemcom(["cache", "build", "--out", out, "--images", csv, "--batch", "2",
                                                 "--model", "edge=auto:\(weights)", "--model", "server=auto:\(weights)"])
        XCTAssertEqual(status, 0, stderr)
        return out
    }

    /// SIGINT (as `Interruption` records it) during `eval`, once the memo
    /// fill has started: the fill stops at its safe point, the REPL prints one
    /// line, forgets the signal and goes on with settings, variables and
    /// saved tables as they were.
    func testAnInterruptedCommandReturnsToThePromptWithTheSessionIntact() throws {
        let cache = try buildCache()
        let session = Session()
        for line in ["open \(cache)", "set edge edge", "set server server", "set gate none", "set rule topk:5", "let x = 5", "eval", "save first", "set rule topk:20"] {
            _ = try session.execute(line)
        }
        let signals = ReplSignals(interactive: true)
        var notes: [String] = []
        signals.note = { notes.append($0) }

        var fills = 0
        session.progress = { done, _ in
            if done == 0 { fills += 1; Interruption.received(SIGINT) }  // the fill has begun
        }
        XCTAssertEqual(ReplCommand.report(session, "eval", signals), .done, "the REPL goes on")
        XCTAssertEqual(fills, 1)
        XCTAssertEqual(notes.count, 1, "one line: \(notes)")
        XCTAssertTrue(notes.first?.hasPrefix("interrupted; ") == true, "\(notes)")
        XCTAssertNil(Interruption.pending, "the signal is forgotten")
        XCTAssertEqual("\(session.setting.rule)", "topk:20")
        XCTAssertEqual(session.variables["x"], "5")
        XCTAssertNotNil(session.saved["first"])

        // The next command runs in full.
        session.progress = { _, _ in }
        notes = []
        XCTAssertEqual(ReplCommand.report(session, "eval", signals), .done)
        XCTAssertEqual(notes, [])
        XCTAssertNil(Interruption.pending)
    }

    /// A script stops after the line in hand, naming it, when a signal arrives.
    func testScriptStopsAfterTheLineInHand() throws {
        let script = tmp.appendingPathComponent("s.semcom").path
        try "let a = 1\nshow settings\nlet b = 2\nshow settings\n".write(toFile: script, atomically: true, encoding: .utf8)
        let session = Session()
        var outputs = 0
        XCTAssertThrowsError(try session.runScript(script) { _ in
            outputs += 1
            Interruption.received(SIGINT)
        }) { error in
            let stop = error as? Interrupted
            XCTAssertEqual(stop?.signal, SIGINT, "\(error)")
            XCTAssertEqual(stop?.detail, "after \(script):2")
        }
        XCTAssertEqual(outputs, 1)
        XCTAssertEqual(session.variables["a"], "1")
        XCTAssertNil(session.variables["b"], "no line after the signal")
    }
}

/// Progress off a terminal (a log, CI, Slurm): a line at the start and the end
/// of a job, and in between one per new tenth at most every 5 s; not one per batch.
final class ProgressMeterTests: XCTestCase {
    func testOffATerminalAFewLinesNotOnePerBatch() {
        let meter = ProgressMeter(label: "cache", terminal: false)
        var lines: [String] = []
        meter.write = { lines.append($0) }
        let t0 = Date()
        for done in 0...1000 { meter.update(done, 1000, at: t0.addingTimeInterval(Double(done) * 0.1)) }  // 100 s, 1001 batches
        XCTAssertEqual(lines.count, 11, "start, tenths 1-9 (10 s apart here), end: \(lines)")
        XCTAssertTrue(lines.first!.hasPrefix("cache: 0/1000") && lines.last!.hasPrefix("cache: 1000/1000"), "\(lines)")
        lines = []
        for done in 0...1000 { meter.update(done, 1000, at: t0.addingTimeInterval(Double(done) * 0.001)) }  // 1 s: too fast for tenths
        XCTAssertEqual(lines.count, 2, "\(lines)")
    }
}
