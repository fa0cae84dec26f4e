import Foundation
import COpenBLAS

/// How many threads the numerical code uses; set it once before running a
/// model. The Swift side splits every kernel, matrix products included, over
/// that many threads, and each thread calls OpenBLAS single-threaded: one
/// thread pool, no OpenBLAS workers spinning against ours.
public enum Threads {
    nonisolated(unsafe) private static var current = 1

    /// The thread count in force (at least 1).
    public static var count: Int { current }

    /// Sets the thread count (OpenBLAS itself is kept at one thread per call).
    public static func set(_ n: Int) {
        current = max(1, n)
        openblas_set_num_threads(1)
    }
}

/// Splits `0..<count` into at most `Threads.count` contiguous ranges and runs
/// `body` on each, concurrently when there is more than one. Small jobs
/// (`count * costPerItem` below about 200k operations, where waking a
/// thread costs more than it saves) run inline.
public func parallelFor(_ count: Int, costPerItem: Int = 1, _ body: (Range<Int>) -> Void) {
    let workers = min(Threads.count, count, max(1, count * costPerItem / 200_000))
    if workers <= 1 {
        if count > 0 { body(0..<count) }
        return
    }
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lo = count * w / workers, hi = count * (w + 1) / workers
            if lo < hi { body(lo..<hi) }
        }
    }
}
