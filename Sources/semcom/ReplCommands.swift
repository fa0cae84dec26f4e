import ArgumentParser
import Collaborative
import ExperimentScripts
import Foundation
import Repl
import Safety
import Tensors

/// `semcom repl`: the interactive command language over a cache.
struct ReplCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "repl", abstract: "A line-based REPL over a cache ('help' lists its commands).")

    @Argument(help: "Cache to open.")
    var cache: String?

    @Option(help: "Threads for computing missing server answers.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "From a pipe: go on past a failing line (and still exit 1 at the end). Without it the first failing line ends the session with exit 1.")
    var keepGoing = false

    @Flag(help: "Run sweeps of any size without asking (at a terminal, one of more than 10^5 grid points asks first; from a pipe it is refused).")
    var yes = false

    func validate() throws { try usage { try Limits.check(threads: threads) } }

    func run() throws {
        let session = makeSession(threads: threads)
        let history = ProcessInfo.processInfo.environment["HOME"].map { $0 + "/.semcom_history" }
        let reader = LineReader(historyFile: history, completions: session.completions)
        if yes { session.confirmAbove = .max }
        if reader.interactive {
            session.confirm = { question in
                guard case .line(let answer) = reader.read(prompt: question + " [y/N] ", history: false) else { return false }
                return answer.trimmingCharacters(in: .whitespaces).lowercased().hasPrefix("y")
            }
        }
        let signals = ReplSignals(interactive: reader.interactive)
        signals.install()
        // From a pipe a failing line fails the session (exit 1): at once, or at the end with --keep-going.
        var failed = false
        func run(_ line: String) -> Bool {
            switch Self.report(session, line, signals) {
            case .quit: return false
            case .failed where !reader.interactive:
                failed = true
                return keepGoing
            case .done, .failed: return true
            }
        }
        defer { flushStandardOutput() }
        if let cache, !run("open \(cache)") { if failed { throw ExitCode(1) }; return }
        loop: while true {
            switch signals.waitingForInput({ reader.read(prompt: "semcom> ") }) {
            case .line(let line):
                if !run(line) { break loop }
            case .interrupted:
                signals.forget()  // Ctrl-C at the prompt: the line is dropped, a fresh prompt
            case .signal:
                signals.signalledAtPrompt()
            case .end:
                if reader.interactive { print("") }  // Ctrl-D: end the prompt's line
                break loop
            }
        }
        if failed { throw ExitCode(1) }
    }

    /// What a line did.
    enum Outcome { case done, failed, quit }

    /// Runs a line, printing its result or a one-line error. A command
    /// stopped by Ctrl-C (`Interrupted`, at a safe point) prints one line and
    /// the REPL goes on; see `ReplSignals` for the rest.
    static func report(_ session: Session, _ line: String, _ signals: ReplSignals) -> Outcome {
        signals.beforeCommand()
        var outcome = Outcome.done
        do {
            let out = try session.execute(line)
            if !out.isEmpty { print(out) }
        } catch is QuitSignal {
            return .quit
        } catch let stop as Interrupted {
            signals.stopped(stop)
        } catch {
            reportError(errorMessage(error))
            outcome = .failed
        }
        flushStandardOutput()
        signals.afterCommand()
        return outcome
    }
}

/// How `semcom repl` answers SIGINT and SIGTERM. `Interruption` records
/// them, and a running command stops at its next safe point (keeping what
/// it has computed) by throwing `Interrupted`. Then:
/// - on a terminal, SIGINT (Ctrl-C) returns to the prompt with the session
///   (settings, variables, saved tables) as it was, however often; only
///   `quit` or Ctrl-D leave. At the prompt Ctrl-C is a key (`LineReader`).
///   SIGTERM ends the REPL (exit 143): at the prompt at once, during a
///   command at its next safe point, or at once when sent twice;
/// - from a pipe, either signal ends the REPL (exit 128 + signal): while
///   waiting for input at once, during a command at its next safe point (or
///   when it ends, if it has none), or at once when sent twice.
final class ReplSignals: @unchecked Sendable {
    let interactive: Bool
    private let lock = NSLock()
    private var waiting = false
    private var terminations = 0
    private var ending = false
    /// The terminal's settings, put back before exiting from a signal (libedit may hold it in raw mode).
    private var terminal: termios?
    /// Where the one line about a stopped command goes.
    var note: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    init(interactive: Bool) {
        self.interactive = interactive
        if interactive {
            var t = termios()
            if tcgetattr(STDIN_FILENO, &t) == 0 { terminal = t }
        }
    }

    /// Routes SIGINT and SIGTERM to `Interruption` and here.
    func install() {
        Interruption.install(exitOnSecond: !interactive) { [self] in received($0) }
    }

    /// On the signal queue, after `Interruption` has recorded the signal.
    private func received(_ s: Int32) {
        lock.lock()
        if s == SIGTERM { terminations += 1 }
        let idle = waiting, again = terminations > 1
        lock.unlock()
        if interactive {
            if s == SIGTERM && (idle || again) { end(s, freshLine: idle) }
        } else if idle {
            end(s)
        }
    }

    /// Runs `read` (waiting for the next line: no work in hand) so that a signal that should end the REPL ends it at once.
    func waitingForInput<T>(_ read: () -> T) -> T {
        lock.lock()
        waiting = true
        lock.unlock()
        if let s = Interruption.pending, !interactive || s == SIGTERM { end(s) }
        defer {
            lock.lock()
            waiting = false
            lock.unlock()
        }
        return read()
    }

    /// A signal ended the wait for a line (before `received` may have run):
    /// SIGTERM ends the REPL, SIGINT gives a fresh prompt.
    func signalledAtPrompt() {
        let deadline = Date().addingTimeInterval(0.5)
        while Interruption.pending == nil && Date() < deadline { usleep(2000) }
        if let s = Interruption.pending, s != SIGINT || !interactive { end(s) }
        forget()
    }

    /// Before a line runs: on a terminal, a signal left over from the prompt
    /// is forgotten; from a pipe, one that came with the line ends the REPL.
    func beforeCommand() {
        guard let s = Interruption.pending else { return }
        if interactive && s == SIGINT { forget() } else { end(s) }
    }

    /// A command stopped at a safe point.
    func stopped(_ stop: Interrupted) {
        if interactive && stop.signal == SIGINT {
            note("interrupted; " + (stop.detail.isEmpty ? "answers computed so far are kept" : stop.detail))
            forget()
        } else {
            end(stop.signal, stop)
        }
    }

    /// After a line ran: a signal that came during a command with no safe point.
    func afterCommand() {
        guard let s = Interruption.pending else { return }
        if interactive && s == SIGINT { forget() } else { end(s) }
    }

    /// Clears the received signal.
    func forget() {
        lock.lock()
        terminations = 0
        lock.unlock()
        Interruption.reset()
    }

    /// Ends the process: exit status 128 + signal (once, from whichever thread comes first).
    private func end(_ s: Int32, _ stop: Interrupted? = nil, freshLine: Bool = false) -> Never {
        lock.lock()
        let first = !ending
        ending = true
        lock.unlock()
        while !first { pause() }
        if var t = terminal { tcsetattr(STDIN_FILENO, TCSADRAIN, &t) }
        flushStandardOutput()
        note((freshLine ? "\n" : "") + (stop ?? Interrupted(signal: s)).description)
        exit(128 + s)
    }
}

/// `semcom run`: the same commands from a script file.
struct RunScript: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run a .semcom script (REPL commands, # comments, variables); stops at the first error with file:line.")

    @Argument(help: "Script file, or the name of an experiment script built into semcom (fig08, table1, ...: the repository's Experiments/); a file of that name comes first.")
    var script: String

    @Option(help: "Cache to open before the script runs.")
    var cache: String?

    @Option(help: "Folder for the files the script writes.")
    var out: String?

    @Option(name: .customLong("set"), help: "NAME=VALUE: a variable for the script ($NAME).")
    var variables: [String] = []

    @Option(help: "Threads for computing missing server answers.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Go on past a failing line (each reported on stderr) and exit 1 at the end; without it the first failing line stops the script.")
    var keepGoing = false

    @Flag(help: "Run sweeps of any size (without it a sweep of more than 10^5 grid points is refused unless the script says 'set confirm_above N').")
    var yes = false

    @Flag(help: "Plan instead of computing: list the server answers the script's evaluations would compute (per cache, server and patch ordering), their FLOPs and an estimated time; lines that need them are skipped (and lines that need those lines' results), the rest run as usual.")
    var plan = false

    @Option(help: "With --plan: write the plans as JSON for `semcom memo fill` (FILE; FILE.2.json, ... when the script needs answers of several servers or orderings).")
    var planOut: String?

    @Flag(name: .customLong("calibrate"), inversion: .prefixedNo, help: "With --plan: estimate the time from a short timed run of each server (about a second each).")
    var calibrate = true

    func validate() throws {
        try usage { try Limits.check(threads: threads) }
        if planOut != nil && !plan { throw ValidationError("--plan-out: only with --plan") }
    }

    func run() throws {
        let session = makeSession(threads: threads)
        let planner = plan ? MemoPlanner() : nil
        session.planner = planner
        if yes { session.confirmAbove = .max }
        session.howToOpen = "pass --cache FILE.h5 to semcom run, or put 'open FILE.h5' in the script"
        for v in variables {
            guard let eq = v.firstIndex(of: "=") else { throw CLIError("--set '\(v)': expected NAME=VALUE") }
            session.variables[String(v[..<eq])] = String(v[v.index(after: eq)...])
        }
        if let out { session.outputDirectory = out; session.variables["out"] = out }
        // SIGINT/SIGTERM stop the script at the next safe point of a command or
        // after the line in hand (exit 128 + signal); a second one at once.
        Interruption.install(exitOnSecond: true)
        do {
            if let cache { _ = try session.execute("open \(cache)") }
            if let planOut { try checkOutput(planOut, kind: .text, inputs: session.inputs) }
            final class Tally { var planned = 0, skipped = 0 }
            let tally = Tally()
            let failed = { (e: ReplError) in
                if planner == nil { flushStandardOutput(); reportError("\(e)") }
                else if e.cause is PlannedAnswers { tally.planned += 1 }
                else { tally.skipped += 1 }
            }
            do {
                if FileManager.default.fileExists(atPath: script) {
                    try session.runScript(script, keepGoing: keepGoing || plan, output: { print($0) }, failed: failed)
                } else if let bundled = Experiments.named(script) {
                    try session.runScript(bundled.text, named: bundled.name, keepGoing: keepGoing || plan, output: { print($0) }, failed: failed)
                } else {
                    throw CLIError("\(script): no such script file, nor an experiment script built into semcom (\(Experiments.bundled.map(\.name).joined(separator: ", ")))", kind: .notFound)
                }
            } catch let e as ReplError where planner != nil && e.cause == nil && tally.planned + tally.skipped > 0 {}  // "N line(s) failed": reported below
            if let planner { try reportPlans(planner, planned: tally.planned, skipped: tally.skipped) }
        } catch let stop as Interrupted {
            flushStandardOutput()
            FileHandle.standardError.write(Data("\(stop)\n".utf8))
            throw ExitCode(128 + stop.signal)
        } catch {
            throw CLIError(wrapping: error)
        }
    }
}

extension RunScript {
    /// What `--plan` found: each plan's answers, FLOPs and estimated time, the lines skipped, the plan files.
    func reportPlans(_ planner: MemoPlanner, planned: Int, skipped: Int) throws {
        print("\n== plan: \(planned) line(s) need server answers the memo lacks (not computed); \(skipped) other line(s) skipped (they need those lines' results, or failed)")
        if planner.plans.isEmpty { print("nothing to compute: every answer the script needs is in the memo") }
        for p in planner.plans {
            print("\(p.cache): server '\(p.server)', ordering \(p.ordering):")
            let evaluator = Evaluator(cache: try Cache(path: p.cache))
            evaluator.threads = threads
            report(p, evaluator: evaluator, calibrate: calibrate, threads: threads)
        }
        if let planOut, !planner.plans.isEmpty { try write(planner.plans, to: planOut) }
    }
}

/// A session whose server computations use `threads` and report progress on stderr.
func makeSession(threads: Int) -> Session {
    let session = Session()
    session.threads = threads
    session.progress = ProgressMeter(label: "server").callback
    return session
}
