import Attention
import Collaborative
import Entropy
import Figures
import Foundation
import Safety
import ViT

/// A REPL or script error: one line saying what was wrong.
public struct ReplError: KindedError {
    public let description: String
    /// `badValue` for a line that cannot work; a library error's own kind when it wraps one.
    public let kind: ErrorKind
    /// The library error behind it, if any (kept through every wrapping).
    public let cause: (any Error)?
    public init(_ message: String, kind: ErrorKind = .badValue, cause: (any Error)? = nil) {
        description = message
        self.kind = kind
        self.cause = cause
    }
    /// `error`'s message and kind (`ErrorKind(of:)`), and its cause.
    public init(wrapping error: any Error) {
        self.init(errorMessage(error), kind: ErrorKind(of: error), cause: (error as? ReplError)?.cause ?? error)
    }
}

/// The state behind `semcom repl` and `semcom run`: an open cache, the
/// chosen edge, server, measure, rule and gate, variables, the last result
/// (for `export` and `save`), each command's latest and the saved results
/// (for `plot`). `execute` runs one line; an error leaves the state as it was.
public final class Session {
    public private(set) var cache: Cache?
    var evaluator: Evaluator?
    public var setting = Setting(edge: "", server: "")
    /// The latency model of evaluations (`set uplink`), the evaluator's.
    public var latency = LatencyModel() { didSet { evaluator?.latency = latency } }
    /// Evaluate the rows built so far of incomplete runs (`set partial on`) instead of refusing.
    public var partial = false { didSet { evaluator?.allowPartial = partial } }
    /// Seconds between checkpoints while computing server answers (nil: adaptive, see `CacheWriter`).
    public var checkpointInterval: TimeInterval? { didSet { evaluator?.checkpointInterval = checkpointInterval } }
    /// What "no cache open" tells the user to do (`semcom run` says to pass `--cache`).
    public var howToOpen = "use 'open FILE.h5'"
    /// Threads for computing server answers (`Evaluator.threads`).
    public var threads = 1 { didSet { evaluator?.threads = threads } }
    /// Planning mode (`Evaluator.planner`): server answers are listed, not computed.
    public var planner: MemoPlanner? { didSet { evaluator?.planner = planner } }
    /// A sweep of more grid points than this asks first (`confirm`), or is
    /// refused where no one can answer (`set confirm_above N`; `--yes`).
    public var confirmAbove = 100_000
    /// Asks the user a yes-or-no question (the interactive REPL); nil where
    /// no one can answer (a script, a pipe).
    public var confirm: ((String) -> Bool)?
    /// Where `export`, `plot` and `image` write relative paths.
    public var outputDirectory = "."
    public var variables: [String: String] = [:]
    /// The last result of any command (`export`, `save`, `plot ... last`).
    public private(set) var last: ResultTable?
    /// The latest result of each command by its name (`plot sweep` without a name draws `latest["sweep"]`).
    public private(set) var latest: [String: ResultTable] = [:]
    /// Results counted as they come (`remember`): `execute` labels a new one with its command.
    private var results = 0
    /// Results kept by `save NAME`, for plots.
    public var saved: [String: ResultTable] = [:]
    /// Title of the next plot (`set title ...`).
    public var title: String?
    /// Progress of server computations (done, total).
    public var progress: (Int, Int) -> Void = { _, _ in }
    /// Files being read besides the cache, such as the script being run:
    /// whoever runs a script adds it here, so that no output replaces it.
    public var inputFiles: [String] = []

    /// The files no output of this session may replace: the open cache and `inputFiles`.
    public var inputs: [String] { (cache.map { [$0.path] } ?? []) + inputFiles }

    public init() {}

    /// Runs one line; returns the text to print (possibly empty).
    public func execute(_ rawLine: String) throws -> String {
        let line = try substitute(rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? "")
        let words = line.split(whereSeparator: \.isWhitespace).map(String.init)
        guard let name = words.first else { return "" }
        guard let command = Command.named(name) else {
            let suggestion = Command.closest(to: name).map { "; did you mean '\($0)'?" } ?? ""
            throw ReplError("unknown command '\(name)'\(suggestion) (try 'help')")
        }
        let before = results
        let text = try command.run(self, Array(words.dropFirst()))
        if results != before { label(command: name) }
        return text
    }

    /// Labels the last result with the command that made it and the models
    /// behind its numbers (`ResultTable.command`, `.models`), and keeps it as
    /// that command's latest. A `pareto` table keeps its sweep's models.
    func label(command: String) {
        guard var t = last else { return }
        t.command = command
        switch command {
        case "eval", "sweep", "table", "latency":
            if let cache, let edge = try? cache.run(setting.edge).architecture, let server = try? cache.run(setting.server).architecture {
                t.models = "\(edge) → \(server)"
            }
        case "pareto": break
        default: t.models = nil  // lowres (one server per row), models, histogram
        }
        last = t
        latest[command] = t
    }

    /// Replaces `$NAME` and `${NAME}` with variables.
    func substitute(_ line: String) throws -> String {
        var out = "", i = line.startIndex
        while i < line.endIndex {
            guard line[i] == "$" else { out.append(line[i]); i = line.index(after: i); continue }
            var j = line.index(after: i)
            let braced = j < line.endIndex && line[j] == "{"
            if braced { j = line.index(after: j) }
            let start = j
            while j < line.endIndex && (line[j].isLetter || line[j].isNumber || line[j] == "_") { j = line.index(after: j) }
            let name = String(line[start..<j])
            if braced {
                guard j < line.endIndex && line[j] == "}" else { throw ReplError("unclosed ${ in '\(line)'") }
                j = line.index(after: j)
            }
            guard let value = variables[name] else { throw ReplError("undefined variable '$\(name)' (define it with 'let \(name) = VALUE')") }
            out += value
            i = j
        }
        return out
    }

    func requireCache() throws -> (Cache, Evaluator) {
        guard let cache, let evaluator else { throw ReplError("no cache open (\(howToOpen))") }
        return (cache, evaluator)
    }

    /// Opens a cache and picks default runs.
    public func open(_ path: String) throws {
        let c: Cache
        do { c = try Cache(path: path) } catch { throw ReplError(wrapping: error) }
        let e = Evaluator(cache: c)
        e.progress = { [weak self] in self?.progress($0, $1) }
        e.latency = latency
        e.allowPartial = partial
        e.checkpointInterval = checkpointInterval
        e.threads = threads
        e.planner = planner
        cache = c
        evaluator = e
        // Defaults from the runs' roles: the edge, the server, and for scripts
        // $edge, $server, $small and grids sized to the server's patch count
        // (unless set already, e.g. by --set).
        let roles = try c.runRoles()
        if let edge = roles[.edge], let server = roles[.server] {
            setting.edge = edge
            setting.encoder = edge
            setting.server = server
        }
        for (role, run) in roles {
            if let name = role.variable, variables[name] == nil { variables[name] = run }
        }
        if let server = roles[.server] {
            for (name, value) in Self.grids(patches: try c.run(server).numPatches) where variables[name] == nil { variables[name] = value }
        }
    }

    /// The experiment scripts' grids for P patches: `ks` 10 values of k,
    /// `ks_fine` about 20, `taus` 21 attention thresholds around 1/P; for
    /// P = 196 exactly the paper's (10:190:20, 10:196:10, 0.0005:0.0205:0.001).
    static func grids(patches p: Int) -> [String: String] {
        let start = max(1, Int((Double(p) / 19.6).rounded())), step = max(1, Int((Double(p) / 9.8).rounded()))
        let taus = [0.098, 4.018, 0.196].map { String(format: "%g", ($0 / Double(p) * 1e6).rounded() / 1e6) }
        return ["ks": "\(start):\(min(p, start + 9 * step)):\(step)", "ks_fine": "\(start):\(p):\(start)",
                "taus": taus.joined(separator: ":")]
    }

    /// Lets a sweep of `points` grid points run: at once up to `confirmAbove`;
    /// beyond, when `confirm` says yes; refused (saying how to allow it)
    /// where there is no one to ask.
    func approve(points: Int) throws {
        guard points > confirmAbove else { return }
        let size = "\(thousands(points)) grid points, more than \(thousands(confirmAbove))"
        guard let confirm else { throw ReplError("sweep: \(size); allow it with 'set confirm_above \(points)' (or semcom run/repl --yes)") }
        guard confirm("sweep: \(size); run it?") else { throw ReplError("sweep: not run") }
    }

    func remember(_ t: ResultTable) -> String {
        last = t
        results += 1
        return t.text
    }

    /// Where output `name` goes: under the output directory (absolute paths
    /// are kept), refused by `checkOutput` when it is one of `inputs` or an
    /// existing file of another kind than `kind`.
    func outputPath(_ name: String, kind: FileKind) throws -> String {
        let path = name.hasPrefix("/") ? name : outputDirectory + "/" + name
        try checkOutput(path, kind: kind, inputs: inputs)
        return path
    }

    /// Writes `text`, of `kind`, to output `name` (see `outputPath`) with
    /// `AtomicWrite`: whole or not at all. Returns the path written.
    func write(_ text: String, to name: String, kind: FileKind) throws -> String {
        let path = try outputPath(name, kind: kind)
        try AtomicWrite.write(text, to: path)
        return path
    }
}
