import Attention
import Collaborative
import Entropy
import Foundation

/// A topic of `help TOPIC`: a concept of the method (rules, gates, measures,
/// the output columns, units, the latency model, scripts) explained with the
/// definitions of `docs/method.md` and the syntax strings of the code
/// (`SelectionRule.syntax`, `Gate.syntax`, `ImportanceMeasure.syntax`), and
/// example lines that work in the REPL on any cache with an edge and a server
/// run (a test runs them).
struct HelpTopic: Sendable {
    let name: String
    /// Other words that name it (`help gate` is `help gates`).
    let aliases: [String]
    /// The body, without the examples: lines of at most `helpWidth` columns
    /// where they can be broken. It may read the session (its open cache,
    /// settings and latency model).
    let body: @Sendable (Session) -> [String]
    /// REPL lines, shown as `semcom> LINE` after the body; they make sense
    /// run in order.
    let examples: [String]

    /// The topic as `help TOPIC` prints it.
    func text(_ s: Session) -> String {
        (body(s) + ["", "Examples:"] + examples.map { "  semcom> \($0)" }).joined(separator: "\n")
    }

    /// The topic named `word` (its name or an alias), if any.
    static func named(_ word: String) -> HelpTopic? { all.first { $0.name == word || $0.aliases.contains(word) } }

    static let all: [HelpTopic] = [
        HelpTopic(name: "rules", aliases: ["rule"], body: { _ in
            wrap("Selection rules: which patches of a sent image go to the server (set rule RULE; sweep rule A:B:STEP varies its parameter; default \(Setting(edge: "", server: "").rule)).")
            + wrap("Patches are sorted by the encoder run's importance scores (help measures), largest first (equal scores: lower index first), and every rule keeps a prefix of that order, so a rule is a number k of patches per image.")
            + wrap("Syntax: \(SelectionRule.syntax).")
            + definitions([
                ("sum:D", "the longest prefix whose running sum of scores is at most D, so the kept attention never exceeds D (the authors' rule; sum:1 keeps every patch). Not the smallest set whose scores reach D."),
                ("threshold:T", "every patch whose score is at least T."),
                ("topk:K", "the first K patches."),
                ("random:K", "the first K of a random order fixed by the seed (set seed S) and the image: the random-patch baseline."),
            ])
        }, examples: ["set rule sum:0.95", "eval", "sweep rule 0.9:0.99:0.03", "set rule topk:16", "table patches"]),

        HelpTopic(name: "gates", aliases: ["gate"], body: { _ in
            wrap("The gate: which images the edge sends to the server (set gate GATE; sweep gate A:B:STEP varies its threshold; default \(Setting(edge: "", server: "").gate)).")
            + wrap("p is the softmax of the edge's logits divided by the temperature (set temperature T, default 1); entropies are in bits (logarithms to base 2), C is the number of classes.")
            + wrap("Syntax: \(Gate.syntax).")
            + definitions([
                ("min:H", "the min-entropy -log2 max p, in [0, log2 C] (the paper's choice)."),
                ("shannon:H", "the Shannon entropy -sum p log2 p, in [0, log2 C]."),
                ("renyi:ALPHA:H", "the Rényi entropy log2(sum p^ALPHA) / (1 - ALPHA); ALPHA 1 is Shannon's, inf the min-entropy."),
                ("margin:M", "p(first) - p(second), in [0, 1]; larger means more confident."),
                ("none", "every image is sent."),
            ])
            + wrap("An image is sent when its entropy is at least the threshold (a margin: at most the threshold); otherwise it is confident and the edge's answer stands.")
        }, examples: ["set gate shannon:1.5", "set gate renyi:2:1", "set gate margin:0.5", "sweep gate 0:0.5:0.25", "set gate min:0.8", "table transmit"]),

        HelpTopic(name: "measures", aliases: ["measure"], body: { s in
            var lines = wrap("Patch importance measures: the scores that order the patches for the rules (set measure MEASURE, default \(Setting(edge: "", server: "").measure); set encoder RUN says whose attention). Each is P non-negative scores per image that sum to 1.")
                + wrap("Syntax: \(ImportanceMeasure.syntax).")
                + definitions([
                    ("mean", "the last layer's attention from the class token to each patch, averaged over the H heads, renormalised over the patches."),
                    ("rollout", "per head, the product over layers of (attention + identity), first layer rightmost, without renormalising; then the head average, the class token's row, the patch columns, renormalised (what the authors' code computes)."),
                    ("textbook", "Abnar and Zuidema's rollout: heads averaged first, each layer 0.5 attention + 0.5 identity with rows renormalised, then the product."),
                    ("head:I", "the last layer's class-token attention of head I alone (0 <= I < H)."),
                ])
                + wrap("A cache stores mean, rollout and textbook for every run; head:I is read off the stored last-layer attention.")
            if s.encoderRun != nil { lines += wrap("The encoder run '\(s.setting.encoder)' has: \(s.measureNames().joined(separator: ", ")).") }
            return lines
        }, examples: ["set measure rollout", "histogram mean rollout", "set measure head:0", "eval", "set measure mean"]),

        HelpTopic(name: "columns", aliases: ["column"], body: { _ in columnsHelp() },
                  examples: ["eval", "export eval.csv", "sweep gate 0:1:0.5", "pareto"]),

        HelpTopic(name: "units", aliases: ["unit"], body: { s in
            var lines = wrap("Units of what semcom prints and writes (printed tables: numbers to 4 decimals; CSV and JSON: full precision).")
                + definitions([
                    ("fractions", "accuracies, sent_fraction and comm_cost are fractions in [0, 1] (not per cent); accuracies are over the labelled images."),
                    ("bits", "entropies and their gate thresholds (min, shannon, renyi): logarithms to base 2, in [0, log2 C]; a margin is a difference of probabilities, in [0, 1]."),
                    ("scores", "importance scores: P per image, non-negative, summing to 1; sum:D and threshold:T are on this scale."),
                    ("patches", "p x p pixel squares of the S x S network input, P = (S / p)^2 per image (196 for DeiT at 224 px); k counts kept patches."),
                    ("comm_cost", "fraction sent x patches per sent image / P: 1 is every image sent whole, 0 nothing sent."),
                    ("bytes", "a patch is p x p x 3 bytes (8-bit RGB); positions 1 bit per patch."),
                    ("GFLOPs", "10^9 multiply-adds (eq. 9), per image."),
                    ("ms", "milliseconds per image (help latency); uplink rates in Mbit/s (10^6 bits per second)."),
                    ("memory_MB", "MiB (2^20 bytes) of float32 weights; params_M: parameters / 10^6 (models)."),
                ])
            if let server = try? s.cache?.run(s.setting.server) {
                lines += wrap("The open cache's server run '\(server.name)': S = \(server.imageSize) px, p = \(server.patchSize) px, P = \(server.numPatches) patches.")
            }
            return lines
        }, examples: ["show settings", "set uplink 20", "models"]),

        HelpTopic(name: "latency", aliases: [], body: { s in
            let m = s.latency
            return wrap("The latency model of Figs. 15-16, per image in ms: latency_ms = edge_ms + uplink_ms + server_ms, each a mean over the evaluated images (a confident image adds no uplink or server time).")
                + definitions([
                    ("edge_ms", "\(Cell.number(m.edgeMs).exact) ms for every image (DeiT-Tiny on a phone NPU)."),
                    ("uplink_ms", "for a sent image, its bytes x 8 / (uplink rate x 10^6) x 1000, the rate in Mbit/s (set uplink MBPS; now \(Cell.number(m.uplinkMbps).exact)). Its bytes: k patches of p x p x 3 bytes plus P / 8 for the positions (one bit per patch); a low-resolution run's whole R x R image: R x R x 3 bytes, no positions."),
                    ("server_ms", "for a sent image, \(Cell.number(m.serverMs).exact) ms (DeiT-Base on a desktop GPU) x FLOPs(prefix + k tokens) / FLOPs(prefix + P tokens), FLOPs(T) = L (12 T D^2 + 2 T^2 D) (eq. 9) with the server run's depth L and width D."),
                ])
                + wrap("The command 'latency RATES' evaluates the current setting at each uplink rate; its full_image_ms is the ordinary system: the whole S x S x 3 image uploaded and the server's \(Cell.number(m.serverMs).exact) ms on every token (no edge).")
        }, examples: ["set uplink 20", "eval", "latency 1,8,20"]),

        HelpTopic(name: "scripts", aliases: ["script"], body: { _ in
            wrap("semcom run SCRIPT.semcom [--cache C.h5] [--out DIR] [--set NAME=VALUE ...] [--keep-going] [--yes] runs REPL lines from a file; Experiments/ holds one script per table and figure of the paper, also built into semcom: semcom run fig08 runs it from any folder.")
            + definitions([
                ("# TEXT", "a comment, to the end of the line."),
                ("let NAME = VALUE", "defines a variable; $NAME or ${NAME} in a later line is replaced by its value (an undefined one is an error)."),
                ("default NAME VALUE", "defines NAME unless it is set already: by --set, or by opening a cache (edge, server, small from the runs' roles; ks, ks_fine, taus from the server's patch count)."),
                ("require RUN...", "stops unless the cache has these runs, naming the --set that would pick another."),
                ("--set NAME=VALUE", "sets a variable before the script runs (a default then keeps it; a let replaces it)."),
                ("--out DIR", "where export, plot and image write relative file names (set out DIR in the REPL); also $out."),
                ("--keep-going", "reports each failing line and goes on, exiting 1 at the end; without it the first failing line stops the script with FILE:LINE: and exit 1."),
                ("--yes", "runs sweeps of any size; without it a sweep of more than 10^5 grid points, which the REPL asks about at a terminal, fails a script unless it says set confirm_above N first."),
            ])
            + ["For example:"] + wrap("$ semcom run Experiments/fig08.semcom --cache c.h5 --out out/fig08 --set server=base", first: "  ", rest: "      ")
        }, examples: ["default delta 0.95", "let gates = 0:1:0.5", "require $edge $server", "set rule sum:$delta", "sweep gate $gates  # one row per gate threshold"]),
    ]
}

/// Width of help text, in columns.
let helpWidth = 80

/// `text` broken into lines of at most `width` columns at spaces and after
/// `|` (as in `set edge|server|...`), the first line starting with `first`,
/// the others with `rest` (a longer piece stays whole).
func wrap(_ text: String, width: Int = helpWidth, first: String = "", rest: String = "") -> [String] {
    // The pieces a line may end after, each with whether a space comes before it.
    var pieces: [(text: Substring, spaced: Bool)] = []
    for word in text.split(separator: " ") {
        var start = word.startIndex
        for i in word.indices where word[i] == "|" && word.index(after: i) < word.endIndex {
            pieces.append((word[start...i], start == word.startIndex))
            start = word.index(after: i)
        }
        pieces.append((word[start...], start == word.startIndex))
    }
    var lines: [String] = [], line = first, empty = true
    for (piece, spaced) in pieces {
        let gap = spaced && !empty ? " " : ""
        if !empty && line.count + gap.count + piece.count > width {
            lines.append(line)
            (line, empty) = (rest, true)
        }
        line += (empty ? "" : gap) + piece
        empty = false
    }
    return lines + [line]
}

/// Terms and their explanations: the term indented by 2, the explanation
/// from a common column (on the next line when the term is longer), wrapped.
func definitions(_ items: [(term: String, text: String)]) -> [String] {
    let column = 2 + min(22, items.map(\.term.count).max() ?? 0) + 2
    return items.flatMap { term, text in
        let head = "  " + term
        let pad = String(repeating: " ", count: column)
        if head.count + 2 > column { return [head] + wrap(text, first: pad, rest: pad) }
        return wrap(text, first: head.padding(toLength: column, withPad: " ", startingAt: 0), rest: pad)
    }
}

/// `help columns`: the baselines' first columns (`lowres`, `wholejpeg`), then every column of
/// `evaluationTable` (a sweep's, with `pareto`) in order, with unit and
/// meaning; `*` marks the printed ones.
func columnsHelp() -> [String] {
    let table = evaluationTable([], pareto: true)
    let rows = (["run", "resolution", "jpeg_quality"] + table.columns).map { name -> (term: String, text: String) in
        let doc = columnDocs[name]
        let printed = table.detailColumns.contains(name) ? " " : "*"
        return ("\(printed)\(name)", doc.map { "[\($0.unit.isEmpty ? "text" : $0.unit)] \($0.meaning)." } ?? "undocumented.")
    }
    return wrap("The columns of eval, sweep, lowres and wholejpeg, in order (run: lowres and wholejpeg only, resolution: lowres only, jpeg_quality: wholejpeg only; pareto: sweep only); the same in export's CSV, sweep --out and the keys of eval --json. Printed tables show the columns marked *; CSV and JSON have all of them, at full precision.")
        + definitions(rows)
}

extension Session {
    /// The encoder run of the open cache, or nil (no cache, or the encoder is not one of its runs).
    var encoderRun: RunInfo? {
        guard let cache, let names = try? cache.runNames(), names.contains(setting.encoder) else { return nil }
        return try? cache.run(setting.encoder)
    }

    /// The importance measures `set measure` takes here: those every run
    /// stores (`ImportanceMeasure.stored`) and `head:I` for each head of the
    /// encoder run; without one, the stored ones and `head:`.
    func measureNames() -> [String] {
        let stored = ImportanceMeasure.stored.map(\.description)
        guard let run = encoderRun else { return stored + ["head:"] }
        return stored + (0..<run.numHeads).map { ImportanceMeasure.head($0).description }
    }

    /// `help`: every command with its usage and help, wrapped, then the topics.
    /// `help WORD`: the command and/or the topic so named; otherwise an error
    /// suggesting the closest command or topic.
    func help(_ word: String?) throws -> String {
        guard let word else {
            let commands = Command.all.flatMap { wrap($0.usage, rest: "  ") + wrap($0.help, first: "    ", rest: "    ") }
            return (commands + [""] + wrap("Topics (help TOPIC): " + HelpTopic.all.map(\.name).joined(separator: ", "))).joined(separator: "\n")
        }
        let command = Command.named(word), topic = HelpTopic.named(word)
        guard command != nil || topic != nil else {
            let words = Command.all.map(\.name) + HelpTopic.all.flatMap { [$0.name] + $0.aliases }
            throw ReplError("no command or topic '\(word)'" + (closest(to: word, among: words).map { "; did you mean '\($0)'?" } ?? "") + " (try 'help')")
        }
        let blocks = [command.map { (wrap($0.usage, rest: "  ") + wrap($0.help, first: "    ", rest: "    ")).joined(separator: "\n") },
                      topic.map { $0.text(self) }]
        return blocks.compactMap { $0 }.joined(separator: "\n\n")
    }
}
