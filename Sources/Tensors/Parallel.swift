import COpenBLAS
import Foundation
import Synchronization

/// How many threads the numerical code uses: a task-local value (default 1),
/// bound for a piece of work with `Threads.with(n) { ... }`, so that two tasks
/// (two tests, two requests) can use different counts. The Swift side splits
/// every kernel, matrix products included, over that many threads, and each
/// thread calls OpenBLAS single-threaded: one thread pool, no OpenBLAS
/// workers spinning against ours.
public enum Threads {
    /// The thread count in force for the current task (or thread): at least 1.
    @TaskLocal public static var count = 1

    /// Runs `body` with `n` threads (at least 1) for the numerical code it calls.
    public static func with<R>(_ n: Int, _ body: () throws -> R) rethrows -> R {
        openblas_set_num_threads(1)
        return try $count.withValue(max(1, n), operation: body)
    }
}

/// The OpenBLAS kernels in use.
public enum BLASKernels {
    /// OpenBLAS's name for the kernel set it chose for this CPU
    /// (`openblas_get_corename`): "Haswell", "Cooperlake", ...; the
    /// environment variable `OPENBLAS_CORETYPE` overrides its choice.
    public static var name: String { String(cString: openblas_get_corename()) }
}

/// Splits `0..<count` into at most `Threads.count` contiguous ranges and runs
/// `body` on each, concurrently when there is more than one. Small jobs
/// (`count * costPerItem` below about 400k operations for 2 threads (200k per thread), where handing work to
/// another thread costs more than it saves) run inline, and so does a call
/// made while another `parallelFor` is running.
public func parallelFor(_ count: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
    let workers = min(Threads.count, count, max(1, count * costPerItem / 200_000))
    guard workers > 1, let pool = WorkerPool.shared(for: workers) else {
        if count > 0 { body(0..<count) }
        return
    }
    withoutActuallyEscaping(body) { body in
        pool.run(parts: workers) { w in
            let lo = count * w / workers, hi = count * (w + 1) / workers
            if lo < hi { body(lo..<hi) }
        }
    }
}

/// Persistent worker threads that spin briefly between jobs before sleeping,
/// so that the many short parallel regions of a forward pass do not each pay
/// for waking a sleeping thread (as OpenMP runtimes do).
// Sendable by hand: its mutable state is the atomics, `pool` (under `creation`),
// and `job`/`parts`, written only by the thread that won `busy` before it bumps
// `generation` and read by the workers after they see the bump (acquire/release).
final class WorkerPool: @unchecked Sendable {
    /// The process's threads for `parallelFor`: a resource like the allocator,
    /// created on first use and grown on demand, always under its mutex.
    private static let pool = Mutex<WorkerPool?>(nil)

    /// The pool with at least `parts - 1` workers, or nil when it is busy (a nested call,
    /// or another task's `parallelFor`: that one then runs inline). It is sized for
    /// `Threads.count`, so it is rebuilt only when that grows (the threads of a
    /// replaced pool stay asleep).
    static func shared(for parts: Int) -> WorkerPool? {
        pool.withLock { pool in
            if pool == nil || pool!.threads < parts - 1 { pool = WorkerPool(threads: max(parts, Threads.count) - 1) }
            return pool!.busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged ? pool : nil
        }
    }

    let threads: Int
    private let busy = Atomic<Bool>(false)
    private let generation = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    nonisolated(unsafe) private var job: (Int) -> Void = { _ in }
    nonisolated(unsafe) private var parts = 0
    private let condition = NSCondition()

    private init(threads: Int) {
        self.threads = threads
        for i in 0..<threads {
            let t = Thread { [unowned self] in self.work(index: i + 1) }
            t.stackSize = 1 << 20
            t.start()
        }
    }

    /// Runs `job(0)` on the calling thread and `job(1..<parts)` on workers; returns when all are done.
    func run(parts: Int, _ job: @escaping (Int) -> Void) {
        self.job = job
        self.parts = parts
        pending.store(threads, ordering: .relaxed)
        condition.lock()
        generation.add(1, ordering: .releasing)
        condition.broadcast()
        condition.unlock()
        job(0)
        while pending.load(ordering: .acquiring) > 0 {}
        self.job = { _ in }
        busy.store(false, ordering: .releasing)
    }

    private func work(index: Int) {
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                if spins > 20_000 {  // about 0.1 ms: then sleep until the next job
                    condition.lock()
                    while generation.load(ordering: .acquiring) == seen { condition.wait() }
                    condition.unlock()
                }
            }
            seen = generation.load(ordering: .acquiring)
            if index < parts { job(index) }
            pending.subtract(1, ordering: .releasing)
        }
    }
}
