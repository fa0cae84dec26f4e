import Foundation
import Imaging
import Tensors
import ViT
import Wire

/// The server's model worker: requests wait here until the first of them has
/// waited `wait` seconds or `maxBatch` have arrived; then every request
/// waiting is decoded and run, one forward pass per equal k (a dense matrix
/// shape), at most `maxBatch` images each. One thread; the model's own
/// matrix products use `threads`.
final class Batcher: @unchecked Sendable {
    struct Job {
        let id: UInt64
        let frame: WireImage
        /// When the request arrived (`DispatchTime` nanoseconds).
        let arrived: UInt64
        /// Called once, on the batcher's thread.
        let done: (Result<ServerAnswer, Error>) -> Void
    }

    let model: any ImageClassifier
    let preprocessing: Preprocessing
    let maxBatch: Int
    let wait: Double
    let threads: Int

    private let condition = NSCondition()
    private var queue: [Job] = []
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    init(model: any ImageClassifier, preprocessing: Preprocessing, maxBatch: Int, wait: Double, threads: Int) {
        self.model = model
        self.preprocessing = preprocessing
        self.maxBatch = maxBatch
        self.wait = wait
        self.threads = threads
    }

    func start() {
        let thread = Thread { [self] in
            loop()
            finished.signal()
        }
        thread.name = "semcom-batcher"
        thread.start()
    }

    func submit(_ job: Job) {
        condition.lock()
        queue.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Runs what is queued, then stops the thread.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        finished.wait()
    }

    /// Runs what is queued now, on the calling thread (tests).
    func runQueued() {
        condition.lock()
        let jobs = queue
        queue.removeAll()
        condition.unlock()
        run(jobs)
    }

    private func loop() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty {
                condition.unlock()
                return
            }
            let deadline = Date(timeIntervalSinceNow: max(0, wait - seconds(since: queue[0].arrived)))
            while queue.count < maxBatch && !stopping && Date() < deadline { _ = condition.wait(until: deadline) }
            let jobs = queue
            queue.removeAll()
            condition.unlock()
            run(jobs)
        }
    }

    private func run(_ jobs: [Job]) {
        var ready: [(job: Job, input: [Float], decode: UInt64)] = []
        for job in jobs {
            let t0 = now()
            do {
                let crop = try PatchCoding.receivedCrop(job.frame)
                ready.append((job, preprocessing.networkInput(cropped: crop), now() - t0))
            } catch {
                job.done(.failure(LinkError("request \(job.id): \(error)")))
            }
        }
        let s = model.config.imageSize, c = model.config.numClasses
        for (_, group) in Dictionary(grouping: ready, by: { $0.job.frame.indices.count }).sorted(by: { $0.key < $1.key }) {
            for start in stride(from: 0, to: group.count, by: maxBatch) {
                let part = group[start..<min(group.count, start + maxBatch)]
                let t0 = now()
                let x = Tensor(shape: [part.count, 3, s, s], scalars: part.flatMap(\.input))
                let logits = Threads.with(threads) { model.forward(x, keep: part.map(\.job.frame.indices)).logits }
                let t1 = now()
                for (j, item) in part.enumerated() {
                    let row = logits.scalars[(j * c)..<((j + 1) * c)]
                    guard row.allSatisfy(\.isFinite) else {
                        item.job.done(.failure(LinkError("request \(item.job.id): the model gave a non-finite logit")))
                        continue
                    }
                    let residence = t1 - item.job.arrived, compute = t1 - t0
                    let queued = residence - min(residence, compute + item.decode)
                    item.job.done(.success(ServerAnswer(
                        id: item.job.id, classes: topK(row, 5).map(\.index), decodeMicros: micros(item.decode),
                        queueMicros: micros(queued), computeMicros: micros(compute), batch: UInt16(part.count))))
                }
            }
        }
    }
}

/// Monotonic nanoseconds.
func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
func seconds(since t: UInt64) -> Double { Double(now() - t) / 1e9 }
func micros(_ ns: UInt64) -> UInt32 { UInt32(min(ns / 1000, UInt64(UInt32.max))) }
