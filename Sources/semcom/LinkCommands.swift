import ArgumentParser
import Attention
import Collaborative
import Entropy
import Figures
import Foundation
import Link
import Logging
import Repl
import Safety
import Wire

/// Options of both ends of a link.
struct LinkOptions: ParsableArguments {
    @Option(help: "The model: ARCH:WEIGHTS (ARCH a preset or auto; preprocessing from the config.json beside the weights).")
    var model: String

    @Option(help: "File holding the pre-shared key (its bytes, at least 16; e.g. `head -c 32 /dev/urandom > link.key`): every frame carries an HMAC-SHA256 tag under it.")
    var keyFile: String

    @Option(help: "Largest frame accepted, in bytes.")
    var maxFrame: Int = 4 << 20

    @Option(help: "Threads for the model's matrix products.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard let colon = model.firstIndex(of: ":"), colon != model.startIndex, model.index(after: colon) != model.endIndex else {
            throw ValidationError("--model '\(model)': expected ARCH:WEIGHTS")
        }
        guard (64...(1 << 30)).contains(maxFrame) else { throw ValidationError("--max-frame \(maxFrame): expected 64 to 2^30 bytes") }
        try usage { try Limits.check(threads: threads) }
    }

    /// The model and the preprocessing its weights state.
    func classifier() throws -> Classifier {
        let colon = model.firstIndex(of: ":")!
        let arch = String(model[..<colon]), weights = String(model[model.index(after: colon)...])
        var c = try Classifier(weights: weights, architecture: arch == "auto" ? nil : arch)
        c.threads = threads
        return c
    }

    /// The key file's bytes; a missing, short or over-long file is an error naming it.
    func key() throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: keyFile) else {
            throw CLIError("\(keyFile): cannot read the key file", kind: .notFound)
        }
        guard (16...4096).contains(data.count) else { throw CLIError("\(keyFile): a key of \(data.count) bytes; 16 to 4096 are needed") }
        return Array(data)
    }
}

/// HOST:PORT, checked where it is parsed.
func parseEndpoint(_ text: String, option: String) throws -> (host: String, port: Int) {
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port),
          colon != text.startIndex else {
        throw ValidationError("\(option) '\(text)': expected HOST:PORT (port 0-65535)")
    }
    return (String(text[..<colon]), port)
}

/// `semcom serve`: the server's half of Algorithm 1 on a real link.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Answer edges over TCP: each request's kept patches through the model, batched by k (docs/wire.md, \"The link\").",
        discussion: "Prints `listening on HOST:PORT` when ready. SIGTERM or SIGINT: stops accepting, answers the requests in hand, closes, exits 0.")

    @OptionGroup var link: LinkOptions

    @Option(help: "Address to listen on, HOST:PORT (port 0: any free port, printed).")
    var listen: String

    @Option(help: "Milliseconds the first waiting request waits for others to batch with (the latency budget).")
    var batchWait: Double = 2

    @Option(help: "Images per forward pass.")
    var maxBatch: Int = 16

    @Option(help: "Requests of one connection in the server at once; beyond, the server stops reading it (backpressure).")
    var window: Int = 8

    @Option(help: "Connections at once; more are closed on arrival.")
    var maxClients: Int = 64

    @Option(help: "Seconds a connection may stay silent before it is closed.")
    var idleTimeout: Double = 300

    @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        _ = try parseEndpoint(listen, option: "--listen")
        guard batchWait.isFinite, (0...10_000).contains(batchWait) else { throw ValidationError("--batch-wait \(batchWait): expected 0 to 10000 ms") }
        guard (1...1024).contains(maxBatch) else { throw ValidationError("--max-batch \(maxBatch): expected 1 to 1024") }
        guard (1...1024).contains(window) else { throw ValidationError("--window \(window): expected 1 to 1024") }
        guard (1...100_000).contains(maxClients) else { throw ValidationError("--max-clients \(maxClients): expected 1 to 100000") }
        guard idleTimeout.isFinite, (0.1...86_400).contains(idleTimeout) else { throw ValidationError("--idle-timeout \(idleTimeout): expected 0.1 to 86400 s") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level '\(logLevel)': expected trace, debug, info, notice, warning, error or critical") }
    }

    func run() throws {
        let (host, port) = try parseEndpoint(listen, option: "--listen")
        var options = ServerOptions(psk: try link.key())
        options.maxFrameBytes = link.maxFrame
        options.window = window
        options.maxClients = maxClients
        options.batchWait = batchWait / 1000
        options.maxBatch = maxBatch
        options.threads = link.threads
        options.idleTimeout = idleTimeout
        let classifier = try link.classifier()
        let logger = {
            var l = Logger(label: "semcom.serve") { StreamLogHandler.standardError(label: $0) }
            l.logLevel = Logger.Level(rawValue: logLevel)!
            return l
        }()
        let server = LinkServer(model: classifier.model, preprocessing: classifier.preprocessing, options: options, logger: logger)
        let bound: Int
        do { bound = try server.start(host: host, port: port) } catch { throw CLIError(wrapping: error) }
        FileHandle.standardOutput.write(Data("listening on \(host):\(bound)\n".utf8))  // unbuffered: scripts wait for it
        let stopped = DispatchSemaphore(value: 0)
        let once = NSLock()
        nonisolated(unsafe) var draining = false
        Interruption.install(exitOnSecond: false) { s in
            once.lock()
            defer { once.unlock() }
            guard !draining else { return }
            draining = true
            logger.info("\(s == SIGTERM ? "SIGTERM" : "SIGINT"): draining")
            DispatchQueue.global().async {
                server.drain()
                stopped.signal()
            }
        }
        stopped.wait()
    }
}

/// What the edge does with each image, and where it sends: `semcom edge` and `semcom link-load`.
struct EdgeOptions: ParsableArguments {
    @OptionGroup var link: LinkOptions

    @Option(help: "The server, HOST:PORT.")
    var server: String

    @Option(help: "Images: a folder of class folders, a folder of images, or a CSV of path,label (as `cache build --images`).")
    var images: String

    @Option(help: "Only the first N images.")
    var limit: Int?

    @OptionGroup var point: OperatingPointOptions

    @Option(help: "Codec of the kept patches: raw or jpeg:Q (docs/wire.md).")
    var codec: String = "raw"

    @Option(help: "Seconds to keep reconnecting and resending one request before giving up.")
    var retryFor: Double = 30

    @Option(help: "After the edge's pass, check every image against this cache (built over the same images in the same order): the edge class, the gate's decision, k and the server's answer must be the cache's. Any difference is listed and exits 1.")
    var checkCache: String?

    @Option(help: "The cache's edge run (with --check-cache).")
    var checkEdge: String = "edge"

    @Option(help: "The cache's server run (with --check-cache).")
    var checkServer: String = "server"

    func validate() throws {
        _ = try parseEndpoint(server, option: "--server")
        _ = try policy()
        if let limit, limit < 1 { throw ValidationError("--limit \(limit): expected at least 1") }
        guard retryFor.isFinite, (0...86_400).contains(retryFor) else { throw ValidationError("--retry-for \(retryFor): expected 0 to 86400 s") }
    }

    func policy() throws -> EdgePolicy {
        var p = EdgePolicy()
        (p.measure, p.rule, p.gate) = try point.parsed()
        (p.temperature, p.seed) = (point.temperature, point.seed)
        guard let c = Codec(parsing: codec), !c.isWholeImage else { throw ValidationError("--codec '\(codec)': expected raw or jpeg:Q with Q an integer 1-100") }
        p.codec = c
        return p
    }

    /// The edge device, checked against what its model has (patches, heads).
    func device() throws -> EdgeDevice {
        let device = EdgeDevice(classifier: try link.classifier(), policy: try policy())
        do { try device.policy.rule.check(patches: device.grid.count) } catch { throw ValidationError("--\(error)") }
        if case .head(let h) = device.policy.measure, h >= device.classifier.model.config.numHeads {
            throw ValidationError("--measure head:\(h): the model has heads 0..<\(device.classifier.model.config.numHeads)")
        }
        return device
    }

    func imageList() throws -> ImageList {
        let list = try ImageList.load(images)
        return limit.map { list.limited(to: $0) } ?? list
    }

    /// A connected client; a server that cannot be reached is an error naming it.
    func connectedClient() throws -> LinkClient {
        let (host, port) = try parseEndpoint(server, option: "--server")
        let client = LinkClient(host: host, port: port, psk: try link.key(), maxFrameBytes: link.maxFrame)
        do { try client.connect() } catch { throw CLIError("cannot connect to \(host):\(port): \(error)", kind: .failed) }
        return client
    }

    /// With --check-cache: every image of `results` against the cache; the mismatches are reported and exit 1.
    func checkAgainstCache(_ results: [EdgeImageResult], policy p: EdgePolicy) throws {
        guard let checkCache else { return }
        var setting = Setting(edge: checkEdge, server: checkServer, measure: p.measure, rule: p.rule, gate: p.gate)
        (setting.seed, setting.temperature) = (p.seed, p.temperature)
        setting.codec = p.codec == .raw ? nil : p.codec
        let evaluator = Evaluator(cache: try Cache(path: checkCache))
        do { try Limits.check(setting, in: evaluator.cache) } catch { throw ValidationError("--check-cache: \(error)") }
        let mismatches = try EdgeRun.mismatches(results, cache: evaluator, setting: setting)
        for m in mismatches.prefix(20) { reportError("\(m)") }
        print("checked against \(checkCache): \(results.count - Set(mismatches.map(\.index)).count) of \(results.count) images as the cache says")
        if !mismatches.isEmpty { throw ExitCode(1) }
    }
}

/// `semcom edge`: the edge's half of Algorithm 1, for real.
struct EdgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edge",
        abstract: "Run Algorithm 1 live: classify each image, keep or send its kept patches to `semcom serve`, report per image and in total.",
        discussion: "Per image: the decision, k, bytes sent and the latency split into edge compute, encode, transfer (both directions of the link), and the server's decode, queue and compute (ms). A lost connection is reconnected and the request sent again under the same id (--retry-for).")

    @OptionGroup var edge: EdgeOptions

    @Option(help: "Write the per-image table here as CSV (written whole at the end, also when stopped).")
    var csv: String?

    @Flag(help: "Print only the totals.")
    var quiet = false

    func run() throws {
        let device = try edge.device()
        let inputs = [edge.images, edge.link.keyFile]
        if let csv { try checkOutput(csv, kind: .text, inputs: inputs) }
        let list = try edge.imageList()
        let client = try edge.connectedClient()
        var run = EdgeRun(device: device, client: client)
        run.retryFor = edge.retryFor
        if !quiet { print(EdgeTable.header) }
        var results: [EdgeImageResult] = [], failed = 0
        func finish() throws {
            if let csv { try AtomicWrite.writeOutput(Data(EdgeTable.csv(results).utf8), to: csv, kind: .text, inputs: inputs) }
        }
        do {
            results = try interruptible("stopping after this image (the results so far are written)", atOnce: "then nothing is written") {
                try run.run(list) { i, r in
                    switch r {
                    case .success(let x):
                        results.append(x)
                        if !quiet { print(EdgeTable.row(x)) }
                    case .failure(let e):
                        failed += 1
                        reportError("\(list.paths[i]): \(errorMessage(e))")
                    }
                }
            }
        } catch {
            try finish()
            if error is ExitCode { throw error }
            throw CLIError(wrapping: error)
        }
        try finish()
        print(EdgeTable.summary(EdgeReport(results, failed: failed, strayAnswers: client.strayAnswers), codec: device.policy.codec))
        client.close()
        try edge.checkAgainstCache(results, policy: device.policy)
        if failed > 0 { throw ExitCode(1) }
    }
}

/// `semcom link-load`: many edges at once against one server.
struct LinkLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link-load",
        abstract: "Load a `semcom serve` with many edges at once: after one edge pass over the images (which records each sent image's frame and answer), CLIENTS connections resend those frames for DURATION seconds and check every answer.",
        discussion: "Reports the answers per second, the round-trip p50 and p99, and the requests lost (given up after --retry-for), answered otherwise than recorded, or sent again after a lost connection. Exits 1 when any was lost or answered otherwise.")

    @OptionGroup var edge: EdgeOptions

    @Option(help: "Connections at once, each one request at a time.")
    var clients: Int = 16

    @Option(help: "Seconds of load.")
    var duration: Double = 60

    func validate() throws {
        guard (1...1024).contains(clients) else { throw ValidationError("--clients \(clients): expected 1 to 1024") }
        guard duration.isFinite, (0.1...86_400).contains(duration) else { throw ValidationError("--duration \(duration): expected 0.1 to 86400 s") }
    }

    func run() throws {
        let device = try edge.device()
        let list = try edge.imageList()
        let client = try edge.connectedClient()
        var pass = EdgeRun(device: device, client: client)
        pass.retryFor = edge.retryFor
        let results = try interruptible("stopping", atOnce: "then nothing is reported") {
            try pass.run(list) { i, r in if case .failure(let e) = r { reportError("\(list.paths[i]): \(errorMessage(e))") } }
        }
        client.close()
        try edge.checkAgainstCache(results, policy: device.policy)
        let requests = results.compactMap { r in
            r.decision.frame.flatMap { f in r.serverClasses.first.map { LoadTest.Request(frame: f.encoded(), expected: $0) } }
        }
        guard !requests.isEmpty else { throw CLIError("no image was sent to the server under --gate \(edge.point.gate): nothing to load it with") }
        var load = LoadTest(requests: requests)
        (load.clients, load.duration, load.retryFor) = (clients, duration, edge.retryFor)
        let (host, port) = try parseEndpoint(edge.server, option: "--server")
        let r = try interruptible("stopping", atOnce: "then nothing is reported") { load.run(host: host, port: port, psk: try edge.link.key()) }
        print(String(format: "%d clients for %.1f s: %d answers, %.1f per second; round trip p50 %.2f ms, p99 %.2f ms",
                     r.clients, r.seconds, r.answered, r.throughput, r.p50Ms, r.p99Ms))
        print("lost \(r.lost), answered otherwise than recorded \(r.mismatched), sent again after a lost connection \(r.retries), stray answers \(r.strayAnswers)")
        if r.lost > 0 || r.mismatched > 0 { throw ExitCode(1) }
    }
}

/// The edge's output, formatted: the last step.
enum EdgeTable {
    static let header = "image  sent    k  bytes  answer label  edge_ms encode_ms transfer_ms queue_ms server_ms decode_ms total_ms"

    static func row(_ r: EdgeImageResult) -> String {
        String(format: "%5d  %4@ %4d %6d  %6d %5d %8.2f %9.2f %11.2f %8.2f %9.2f %9.2f %8.2f",
               r.index, r.decision.sends ? "yes" : "no", r.decision.kept.count, r.frameBytes, r.answer, r.label,
               r.edgeMs, r.encodeMs, r.transferMs, r.serverQueueMs, r.serverComputeMs, r.serverDecodeMs, r.totalMs)
    }

    static func csv(_ results: [EdgeImageResult]) -> String {
        var lines = ["index,path,label,edge_class,uncertainty,sent,k,frame_bytes,link_bytes,answer,server_top5,edge_ms,encode_ms,transfer_ms,server_decode_ms,server_queue_ms,server_compute_ms,batch,attempts,total_ms"]
        for r in results {
            let u = r.decision.uncertainty.map { String($0) } ?? ""
            let fields: [String] = [String(r.index), csvField(r.path), String(r.label), String(r.decision.edgeClass), u, r.decision.sends ? "1" : "0",
                                    String(r.decision.kept.count), String(r.frameBytes), String(r.linkBytes), String(r.answer),
                                    r.serverClasses.map(String.init).joined(separator: " ")]
                + [r.edgeMs, r.encodeMs, r.transferMs, r.serverDecodeMs, r.serverQueueMs, r.serverComputeMs].map { String(format: "%.4f", $0) }
                + [String(r.batch), String(r.attempts), String(format: "%.4f", r.totalMs)]
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func csvField(_ s: String) -> String {
        s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    static func summary(_ r: EdgeReport, codec: Codec) -> String {
        let pct = { (x: Double) in x.isNaN ? "n/a" : String(format: "%.2f %%", 100 * x) }
        return [
            "images                \(r.images) (\(r.labelled) labelled\(r.failed > 0 ? ", \(r.failed) unreadable, left out" : ""))",
            "accuracy              \(pct(r.accuracy))",
            "sent to the server    \(pct(r.images == 0 ? .nan : Double(r.sent) / Double(r.images)))",
            String(format: "bytes per image       %.1f (%@ frames; unsent images count 0)", r.bytesPerImage, codec.description),
            String(format: "latency / image, ms   p50 %.2f  p90 %.2f  p99 %.2f", r.p50Ms, r.p90Ms, r.p99Ms),
            String(format: "transfer, ms          mean %.3f over the sent images", r.meanTransferMs),
            "retried requests      \(r.retries)\(r.strayAnswers > 0 ? " (\(r.strayAnswers) stray answers ignored)" : "")",
        ].joined(separator: "\n")
    }
}

/// `semcom relay`: a TCP relay that delays every chunk (the link's propagation delay in `make link-test`).
struct Relay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Relay TCP connections to a target, holding every chunk for a delay in each direction (a link's propagation delay where the kernel has no netem).",
        discussion: "Prints `relaying HOST:PORT -> HOST:PORT` when ready; runs until SIGTERM or SIGINT.")

    @Option(help: "Address to listen on, HOST:PORT (port 0: any free port, printed).")
    var listen: String

    @Option(help: "Where to relay to, HOST:PORT.")
    var to: String

    @Option(help: "Delay in each direction, ms.")
    var delay: Double

    func validate() throws {
        _ = try parseEndpoint(listen, option: "--listen")
        _ = try parseEndpoint(to, option: "--to")
        guard delay.isFinite, (0...60_000).contains(delay) else { throw ValidationError("--delay \(delay): expected 0 to 60000 ms") }
    }

    func run() throws {
        let (host, port) = try parseEndpoint(listen, option: "--listen"), (toHost, toPort) = try parseEndpoint(to, option: "--to")
        let relay = DelayRelay(delay: delay / 1000, logger: Logger(label: "semcom.relay") { StreamLogHandler.standardError(label: $0) })
        let bound: Int
        do { bound = try relay.start(host: host, port: port, targetHost: toHost, targetPort: toPort) } catch {
            throw CLIError("cannot listen on \(listen): \(error)", kind: .failed)
        }
        FileHandle.standardOutput.write(Data("relaying \(host):\(bound) -> \(to)\n".utf8))
        let stopped = DispatchSemaphore(value: 0)
        Interruption.install(exitOnSecond: true) { _ in stopped.signal() }
        stopped.wait()
        relay.stop()
    }
}

/// `semcom link-report`: live runs on links of known rate against the latency model.
struct LinkReport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link-report",
        abstract: "Compare the transfer times of `semcom edge --csv` runs on links of known uplink rate and delay with the latency model of Figs. 15-16 (plus the delay both ways).")

    @Argument(help: "RATE=CSV: an edge run's per-image CSV and the uplink rate it ran at, Mbit/s; one per link.")
    var runs: [String]

    @Option(help: "The links' one-way propagation delay, ms.")
    var delay: Double = 0

    @Option(help: "Exit 1 when the mean measured transfer differs from the model's by more than this fraction of it (plus --burst at the rate) on any link.")
    var tolerance: Double?

    @Option(help: "Bytes the links' shaper lets through at once after an idle gap (tbf's burst), allowed beside --tolerance.")
    var burst: Int = 0

    @Option(help: "Write a figure (SVG) of measured and modelled latency per image against the uplink rate.")
    var svg: String?

    func validate() throws {
        guard !runs.isEmpty else { throw ValidationError("give at least one RATE=CSV") }
        _ = try parsedRuns()
        guard delay.isFinite, delay >= 0 else { throw ValidationError("--delay \(delay): expected a delay >= 0 ms") }
        if let tolerance, !(tolerance.isFinite && tolerance > 0) { throw ValidationError("--tolerance \(tolerance): expected a fraction > 0") }
        guard burst >= 0 else { throw ValidationError("--burst \(burst): expected bytes >= 0") }
    }

    func parsedRuns() throws -> [(rate: Double, csv: String)] {
        try runs.map { text in
            guard let eq = text.firstIndex(of: "="), let rate = Double(text[..<eq]), rate.isFinite, rate > 0, text.index(after: eq) != text.endIndex else {
                throw ValidationError("'\(text)': expected RATE=CSV with RATE in Mbit/s (> 0)")
            }
            return (rate, String(text[text.index(after: eq)...]))
        }
    }

    /// The rows of an edge CSV (`EdgeTable.csv`), by column name.
    func rows(_ path: String) throws -> [LinkLatencyComparison.Row] {
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("\(path): cannot read the file", kind: .notFound) }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        guard let header = lines.first?.split(separator: ",", omittingEmptySubsequences: false).map(String.init) else { throw CLIError("\(path): empty") }
        let names = ["sent", "link_bytes", "transfer_ms", "total_ms"]
        let columns = try names.map { n in
            guard let i = header.firstIndex(of: n) else { throw CLIError("\(path): no column '\(n)'; not a `semcom edge --csv` table") }
            return i
        }
        return try lines.dropFirst().enumerated().map { j, line in
            // Quoted paths may hold commas: the columns used come after them, so count from the end.
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let shift = f.count - header.count
            guard shift >= 0, let sent = Int(f[columns[0] + shift]), let bytes = Int(f[columns[1] + shift]),
                  let transfer = Double(f[columns[2] + shift]), let total = Double(f[columns[3] + shift]) else {
                throw CLIError("\(path): line \(j + 2) is not a row of the table")
            }
            return LinkLatencyComparison.Row(sent: sent == 1, linkBytes: bytes, transferMs: transfer, totalMs: total)
        }
    }

    func run() throws {
        let runs = try parsedRuns()
        if let svg { try checkOutput(svg, kind: .svg, inputs: runs.map(\.csv)) }
        var comparisons: [LinkLatencyComparison] = []
        print("uplink_mbps,images,sent,request_bytes,transfer_ms,model_transfer_ms,transfer_error,latency_ms,model_latency_ms")
        for (rate, csv) in runs {
            let c = LinkLatencyComparison(try rows(csv), uplinkMbps: rate, delayMs: delay)
            comparisons.append(c)
            print(String(format: "%g,%d,%d,%.1f,%.3f,%.3f,%+.4f,%.3f,%.3f", rate, c.images, c.sent, c.meanRequestBytes,
                         c.measuredTransferMs, c.modelTransferMs, c.transferError, c.measuredLatencyMs, c.modelLatencyMs))
        }
        if let svg {
            let sorted = comparisons.sorted { $0.uplinkMbps < $1.uplinkMbps }
            let text = ChartText(title: "Live edge and server: latency per image against the uplink",
                                 subtitle: String(format: "measured on the link; model: bytes at the rate + %g ms delay each way", delay),
                                 xLabel: "uplink (Mbit/s)", yLabel: "mean latency per image (ms)")
            var series = [
                Series(name: "measured", x: sorted.map(\.uplinkMbps), y: sorted.map(\.measuredLatencyMs), markers: true, line: false),
                Series(name: "model", x: sorted.map(\.uplinkMbps), y: sorted.map(\.modelLatencyMs), markers: true, dashed: true),
            ]
            if burst > 0 {  // what the shaper's burst takes off each sent image's transfer
                series.append(Series(name: "model less \(burst) B at once (the shaper's burst)", x: sorted.map(\.uplinkMbps), y: sorted.map {
                    $0.modelLatencyMs - Double($0.sent) / Double($0.images) * ($0.modelTransferMs(bytes: burst) - 2 * $0.delayMs)
                }, dashed: true))
            }
            try AtomicWrite.writeOutput(Data(SVGChart.lines(text, series: series).utf8), to: svg, kind: .svg, inputs: runs.map(\.csv))
        }
        if let tolerance {
            for c in comparisons where abs(c.measuredTransferMs - c.modelTransferMs) > c.allowedDifferenceMs(tolerance: tolerance, burstBytes: burst) {
                throw CLIError(String(format: "at %g Mbit/s the mean measured transfer (%.3f ms) is %.3f ms off the model's (%.3f ms), more than the %.3f ms allowed (%.0f %% of the model and %d bytes at the rate)",
                                      c.uplinkMbps, c.measuredTransferMs, abs(c.measuredTransferMs - c.modelTransferMs), c.modelTransferMs,
                                      c.allowedDifferenceMs(tolerance: tolerance, burstBytes: burst), 100 * tolerance, burst))
            }
        }
    }
}
