import Foundation
import Safety

/// Many edges at once against one server: each of `clients` connections sends
/// the same recorded frames over and over for `duration` seconds, one request
/// at a time, and checks every answer against the one recorded. A lost
/// connection is reconnected and the request sent again (`EdgeRun`'s rule).
public struct LoadTest {
    /// One recorded request: an image's frame and the class the server answered alone.
    public struct Request: Sendable {
        public var frame: [UInt8]
        public var expected: Int
        public init(frame: [UInt8], expected: Int) { (self.frame, self.expected) = (frame, expected) }
    }

    /// What a load test measured.
    public struct Result: Sendable {
        public var clients = 0
        public var seconds = 0.0
        /// Requests answered, and of those, answered with another class than recorded.
        public var answered = 0, mismatched = 0
        /// Requests given up after `retryFor` seconds without an answer.
        public var lost = 0
        /// Requests sent again after a lost connection; answers for no request waiting.
        public var retries = 0, strayAnswers = 0
        /// Round-trip time of the answered requests, ms (send to answer, retries included).
        public var p50Ms = 0.0, p99Ms = 0.0
        public var throughput: Double { Double(answered) / seconds }
    }

    public let requests: [Request]
    public var clients = 16
    public var duration = 60.0
    public var retryFor = 30.0

    public init(requests: [Request]) { self.requests = requests }

    public func run(host: String, port: Int, psk: [UInt8]) -> Result {
        let tally = Tally()
        let start = Date(), deadline = start.addingTimeInterval(duration)
        let finished = DispatchGroup()
        // One thread per client (not concurrentPerform, which runs as many at once as there are cores).
        for c in 0..<clients {
            finished.enter()
            Thread.detachNewThread {
                let (mine, times) = client(c, host: host, port: port, psk: psk, until: deadline)
                tally.add(mine, times)
                finished.leave()
            }
        }
        finished.wait()
        var total = tally.total
        total.clients = clients
        total.seconds = Date().timeIntervalSince(start)
        let latencies = tally.latencies.sorted()
        (total.p50Ms, total.p99Ms) = (percentile(latencies, 0.5), percentile(latencies, 0.99))
        return total
    }

    /// Client `c`: requests one at a time until `deadline`, from its own place in the list.
    private func client(_ c: Int, host: String, port: Int, psk: [UInt8], until deadline: Date) -> (Result, [Double]) {
        var mine = Result(), times: [Double] = []
        let client = LinkClient(host: host, port: port, psk: psk)
        var n = requests.count * c / max(1, clients), id = UInt64(c) << 40
        while Date() < deadline && Interruption.pending == nil {
            let r = requests[n % requests.count]
            n += 1
            id += 1
            let t0 = Date()
            do {
                let (answer, _, _, attempts) = try client.request(id: id, frame: r.frame, retryingFor: retryFor)
                mine.answered += 1
                mine.retries += attempts - 1
                if answer.classes.first != r.expected { mine.mismatched += 1 }
                times.append(Date().timeIntervalSince(t0) * 1000)
            } catch is Interrupted {
                break
            } catch {
                mine.lost += 1
            }
        }
        mine.strayAnswers = client.strayAnswers
        client.close()
        return (mine, times)
    }

    private final class Tally: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var total = Result(), latencies: [Double] = []
        func add(_ r: Result, _ times: [Double]) {
            lock.lock()
            defer { lock.unlock() }
            total.answered += r.answered
            total.mismatched += r.mismatched
            total.lost += r.lost
            total.retries += r.retries
            total.strayAnswers += r.strayAnswers
            latencies += times
        }
    }
}
