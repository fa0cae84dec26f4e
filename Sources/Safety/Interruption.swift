import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT (Ctrl-C) and SIGTERM as a request to stop at the next safe point.
///
/// Long loops (cache builds, memo fills, sweeps) call `check()` at their
/// boundaries (after a batch is stored); it throws `Interrupted` once a
/// signal has arrived, so that the command saves what it has and stops.
/// Where `install(exitOnSecond: true)`, a second signal ends the process at
/// once (exit 128 + signal number); the files on disk are still whole,
/// since every write is published by an atomic rename.
public enum Interruption {
    private static let lock = NSLock()
    // Safe: every read and write of these four holds `lock`.
    nonisolated(unsafe) private static var signalNumber: Int32 = 0
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []
    nonisolated(unsafe) private static var exitsOnSecond = true
    nonisolated(unsafe) private static var onSignal: (@Sendable (Int32) -> Void)?

    /// Routes SIGINT and SIGTERM to the flag. `exitOnSecond`: a second signal
    /// before `reset()` exits the process. `notify` runs on each signal (on a
    /// background queue), e.g. to print "stopping at the next batch".
    public static func install(exitOnSecond: Bool = true, notify: (@Sendable (Int32) -> Void)? = nil) {
        lock.lock()
        defer { lock.unlock() }
        exitsOnSecond = exitOnSecond
        onSignal = notify
        guard sources.isEmpty else { return }
        for s in [SIGINT, SIGTERM] {
            signal(s, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: s, queue: .global())
            source.setEventHandler { received(s) }
            source.resume()
            sources.append(source)
        }
        #if os(Linux)
        // libdispatch installs its own handler for each signal, later, on its
        // manager thread. Wait for it (a second at most), so that whoever sets
        // a handler after this call (libedit, while reading a line) keeps it
        // as the one to restore, rather than having it replaced.
        let deadline = Date().addingTimeInterval(1)
        for s in [SIGINT, SIGTERM] {
            while Date() < deadline {
                var action = sigaction()
                sigaction(s, nil, &action)
                let handler = action.__sigaction_handler.sa_handler.map { unsafeBitCast($0, to: Int.self) } ?? 0
                if handler != unsafeBitCast(SIG_IGN, to: Int.self) { break }
                usleep(1000)
            }
        }
        #endif
    }

    /// Records `s` as if it had arrived (for tests and for callers that catch the signal themselves).
    public static func received(_ s: Int32) {
        lock.lock()
        let second = signalNumber != 0
        if !second { signalNumber = s }
        let exits = exitsOnSecond, notify = onSignal
        lock.unlock()
        if second && exits { exit(128 + s) }
        notify?(s)
    }

    /// The signal received since the last `reset()`, or nil.
    public static var pending: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return signalNumber == 0 ? nil : signalNumber
    }

    /// Throws `Interrupted` when a signal has arrived.
    public static func check() throws {
        if let s = pending { throw Interrupted(signal: s) }
    }

    /// Forgets a received signal (the REPL, after returning to its prompt).
    public static func reset() {
        lock.lock()
        signalNumber = 0
        lock.unlock()
    }
}

/// A command stopped by SIGINT or SIGTERM at a safe point, after saving its work.
public struct Interrupted: Error, CustomStringConvertible {
    public let signal: Int32
    /// What was saved and how to go on, when the stopped command says it.
    public var detail: String = ""
    public init(signal: Int32, detail: String = "") {
        self.signal = signal
        self.detail = detail
    }
    public var description: String {
        let name = signal == SIGTERM ? "SIGTERM" : "SIGINT"
        return "interrupted (\(name))" + (detail.isEmpty ? "" : ": " + detail)
    }
}
