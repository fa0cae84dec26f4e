import Collaborative
import Foundation
import HDF5IO
import XCTest

/// Issue 9: the cache never lies and never dies. Real `semcom` processes
/// are killed (SIGKILL, SIGINT, SIGTERM) at seeded points of a build and of a
/// memo fill, resumed, and compared dataset by dataset, to the last bit, with
/// uninterrupted runs; readers poll while a writer fills; second writers,
/// read-only caches, unreadable, changed and moved images, partial runs.
final class CacheSafetyTests: XCTestCase {
    var tmp: URL!
    /// The bundled edge model (0.1 M parameters) as both runs: quick even in a debug build.
    let models = ["--model", "edge=auto:" + repositoryRoot.appendingPathComponent("Demo/models/edge.safetensors").path,
                  "--model", "server=auto:" + repositoryRoot.appendingPathComponent("Demo/models/edge.safetensors").path]
    let imageOptions = ["--size", "64", "--crop-pct", "1", "--batch", "8", "--threads", "2"]

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-safety-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        _ = chmod(tmp.path, 0o755)
        try? FileManager.default.removeItem(at: tmp)
    }

    func path(_ name: String) -> String { tmp.appendingPathComponent(name).path }

    /// `tmp/NAME/<class>/*.jpg`: copies of the first `perClass` bundled demo images of each class.
    @discardableResult
    func dataset(perClass: Int, name: String = "data") throws -> String {
        let source = repositoryRoot.appendingPathComponent("Demo/digits/eval").path
        let root = path(name)
        for c in 0..<10 {
            try FileManager.default.createDirectory(atPath: "\(root)/\(c)", withIntermediateDirectories: true)
            for f in try FileManager.default.contentsOfDirectory(atPath: "\(source)/\(c)").sorted().prefix(perClass) {
                try FileManager.default.copyItem(atPath: "\(source)/\(c)/\(f)", toPath: "\(root)/\(c)/\(f)")
            }
        }
        return root
    }

    func buildArguments(_ out: String, _ images: String, _ extra: [String] = []) -> [String] {
        ["cache", "build", "--out", out, "--images", images] + imageOptions + models + extra
    }

    func build(_ out: String, _ images: String, _ extra: [String] = []) throws -> (Int32, String, String) {
        try runSemcom(buildArguments(out, images, extra))
    }

    func inventory(_ file: String) throws -> [String: String] { try HDF5File.open(file).inventory() }

    func assertSame(_ a: [String: String], _ b: [String: String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.keys.sorted(), b.keys.sorted(), file: file, line: line)
        let differing = a.keys.filter { b[$0] != nil && a[$0] != b[$0] }.sorted()
        XCTAssertTrue(differing.isEmpty, "differing: \(differing)", file: file, line: line)
    }

    func bytes(_ file: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: file)) }

    /// Rows complete in run `run` of the published cache (nil while there is no file).
    func completed(_ cache: String, _ run: String = "edge") -> Int? {
        guard FileManager.default.fileExists(atPath: cache) else { return nil }
        return try? Cache(path: cache).run(run).completed
    }

    /// Server answers stored in the cache's memo table for `key`.
    func storedAnswers(_ cache: String, _ key: String = "/memo/server/edge:mean") -> Int {
        guard let c = try? Cache(path: cache), (try? MemoTable.keys(in: c).contains(key)) == true,
              let v = try? MemoTable.stored(key, in: c) else { return 0 }
        return v.filter { $0 >= 0 }.count
    }

    /// Starts `semcom` in the background, its stderr collected.
    func start(_ arguments: [String], environment: [String: String] = [:]) throws -> (Process, () -> String) {
        let process = Process()
        process.executableURL = semcomExecutable
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardOutput = FileHandle.nullDevice
        final class Box: @unchecked Sendable { let lock = NSLock(); var data = Data() }
        let box = Box()
        let err = Pipe()
        err.fileHandleForReading.readabilityHandler = { h in
            let d = h.availableData
            box.lock.lock(); box.data.append(d); box.lock.unlock()
        }
        process.standardError = err
        try process.run()
        return (process, { box.lock.lock(); defer { box.lock.unlock() }; return String(decoding: box.data, as: UTF8.self) })
    }

    /// Polls `condition` every 5 ms until it holds or `seconds` pass; false on time-out.
    func wait(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(5_000)
        }
        return condition()
    }

    func finish(_ p: Process) -> Int32 {
        p.waitUntilExit()
        return p.terminationStatus
    }

    // MARK: Crashes

    func testSIGKILLAtSeededPointsOfABuildResumesToTheSameFile() throws {
        let images = try dataset(perClass: 12)  // 120 images, 15 batches
        let plain = path("plain.h5")
        XCTAssertEqual(try build(plain, images).0, 0)
        let reference = try inventory(plain)
        let killed = path("killed.h5")
        // Seeded kill points, spread over the run (rows published before the kill).
        for target in [16, 56, 96] {
            let (p, _) = try start(buildArguments(killed, images, ["--checkpoint-every", "0"]))
            XCTAssertTrue(wait(seconds: 60) { (completed(killed) ?? 0) >= target || !p.isRunning }, "no progress to \(target)")
            kill(p.processIdentifier, SIGKILL)
            _ = finish(p)
            let done = try XCTUnwrap(completed(killed), "the published file opens after SIGKILL")
            XCTAssertGreaterThanOrEqual(done, target)
            XCTAssertEqual(done % 8, 0, "only whole batches are published")
        }
        let (status, _, stderr) = try build(killed, images)
        XCTAssertEqual(status, 0, stderr)
        assertSame(try inventory(killed), reference)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: tmp.path).filter { $0.hasSuffix(".tmp") }
        XCTAssertEqual(leftovers, [], "private copies of killed writers are removed by the next writer")
    }

    func testSIGINTAndSIGTERMStopAtABatchBoundaryAndSayHowToResume() throws {
        let images = try dataset(perClass: 12)
        let plain = path("plain.h5")
        XCTAssertEqual(try build(plain, images).0, 0)
        let reference = try inventory(plain)
        for (n, signal) in [SIGINT, SIGTERM].enumerated() {
            let cache = path("stopped\(n).h5")
            let (p, stderr) = try start(buildArguments(cache, images))
            // Wait for the first batches (progress lines "cache: D/120" with D > 0).
            XCTAssertTrue(wait(seconds: 60) { stderr().range(of: "cache: [1-9][0-9]*/", options: .regularExpression) != nil || !p.isRunning })
            kill(p.processIdentifier, signal)
            let status = finish(p)
            XCTAssertEqual(status, 128 + signal, stderr())
            XCTAssertTrue(stderr().contains("run the same command again to resume"), stderr())
            let done = try XCTUnwrap(completed(cache))
            XCTAssertTrue(done > 0 && done < 120 && done % 8 == 0, "\(done)")

            // An incomplete run is refused by name and progress, unless --partial, which says so.
            let evalArgs = ["eval", "--cache", cache, "--edge", "edge", "--server", "server", "--rule", "topk:8", "--gate", "none"]
            let (s1, _, e1) = try runSemcom(evalArgs)
            XCTAssertEqual(s1, 1)
            XCTAssertTrue(e1.contains("run 'edge' is incomplete: \(done) of 120 images"), e1)
            XCTAssertTrue(e1.contains(cache), e1)
            let (s2, o2, e2) = try runSemcom(evalArgs + ["--partial", "--json"])
            XCTAssertEqual(s2, 0, e2)
            let json = try JSONSerialization.jsonObject(with: Data(o2.utf8)) as! [String: Any]
            XCTAssertEqual(json["partial"] as? Bool, true)
            XCTAssertEqual(json["images"] as? Int, done)
            XCTAssertEqual(json["total_images"] as? Int, 120)
            let (_, text, _) = try runSemcom(evalArgs + ["--partial"])
            XCTAssertTrue(text.contains("over \(done) of 120 images; completed rows only"), text)
            // Server answers were stored for complete rows only.
            let memo = try MemoTable.stored("/memo/server/edge:mean", in: Cache(path: cache))
            XCTAssertTrue(memo[(done * 65)...].allSatisfy { $0 == -1 }, "no answer stored for an unbuilt row")
            XCTAssertTrue(memo[..<(done * 65)].contains { $0 >= 0 })
            let (_, info, _) = try runSemcom(["cache", "info", cache])
            XCTAssertTrue(info.contains("edge: ") && info.contains("\(done) of 120 images"), info)
            XCTAssertTrue(info.contains("is incomplete"), info)

            let (s3, _, e3) = try build(cache, images)
            XCTAssertEqual(s3, 0, e3)
            let resumed = try inventory(cache).filter { !$0.key.hasPrefix("/memo") }
            assertSame(resumed, reference)
            // Finished, it answers as a cache built in one go.
            let fresh = path("fresh\(n).h5")
            try FileManager.default.copyItem(atPath: plain, toPath: fresh)
            let (_, a, _) = try runSemcom(["eval", "--cache", cache, "--edge", "edge", "--server", "server", "--rule", "topk:8", "--gate", "none", "--json"])
            let (_, b, _) = try runSemcom(["eval", "--cache", fresh, "--edge", "edge", "--server", "server", "--rule", "topk:8", "--gate", "none", "--json"])
            XCTAssertEqual(a, b)
            XCTAssertTrue(a.contains("\"partial\":false"), a)
        }
    }

    func testSIGKILLDuringAMemoFillResumesToTheSameAnswers() throws {
        let images = try dataset(perClass: 16)  // 160 images: one chunk of a fill, checkpointed after every batch
        let plain = path("plain.h5")
        XCTAssertEqual(try build(plain, images).0, 0)
        let filled = path("filled.h5"), killed = path("killed.h5")
        try FileManager.default.copyItem(atPath: plain, toPath: filled)
        try FileManager.default.copyItem(atPath: plain, toPath: killed)
        let sweep = ["sweep", "--edge", "edge", "--server", "server", "--rule", "topk:1", "--gate", "none",
                     "--rule-range", "4:60:16", "--threads", "2"]
        let (s0, _, e0) = try runSemcom(sweep + ["--cache", filled, "--out", path("a.csv")])
        XCTAssertEqual(s0, 0, e0)
        let total = storedAnswers(filled)
        XCTAssertGreaterThan(total, 160 * 4)
        var killedBeforeTheEnd = 0
        for fraction in [0.25, 0.6] {
            let (p, _) = try start(sweep + ["--cache", killed, "--out", path("b.csv"), "--checkpoint-every", "0"])
            XCTAssertTrue(wait(seconds: 60) { storedAnswers(killed) >= Int(fraction * Double(total)) || !p.isRunning })
            kill(p.processIdentifier, SIGKILL)
            _ = finish(p)
            XCTAssertGreaterThanOrEqual(storedAnswers(killed), Int(fraction * Double(total)), "answers published before the kill are kept")
            if storedAnswers(killed) < total { killedBeforeTheEnd += 1 }
        }
        XCTAssertGreaterThan(killedBeforeTheEnd, 0, "at least one kill landed part-way through the fill")
        let (s1, _, e1) = try runSemcom(sweep + ["--cache", killed, "--out", path("b.csv")])
        XCTAssertEqual(s1, 0, e1)
        assertSame(try inventory(killed), try inventory(filled))
        XCTAssertEqual(try String(contentsOfFile: path("a.csv"), encoding: .utf8), try String(contentsOfFile: path("b.csv"), encoding: .utf8))
    }

    // MARK: Readers and writers

    func testReadersNeverSeeAHalfWrittenBatchWhileAWriterFills() throws {
        let images = try dataset(perClass: 12)
        let plain = path("plain.h5")
        XCTAssertEqual(try build(plain, images).0, 0)
        let expected = try Cache(path: plain).logits("server")
        let cache = path("live.h5")
        let (p, stderr) = try start(buildArguments(cache, images, ["--checkpoint-every", "0"]))
        var reads = 0, failures: [String] = []
        while p.isRunning {
            guard FileManager.default.fileExists(atPath: cache) else { usleep(2_000); continue }
            do {
                let c = try Cache(path: cache)
                let done = try c.run("server").completed
                let logits = try c.logits("server")
                // Rows 0..<done are exactly the final ones; no later row holds anything yet.
                let width = expected.count / 120
                if Array(logits.prefix(done * width)) != Array(expected.prefix(done * width)) { failures.append("rows before \(done) differ") }
                if logits.dropFirst(done * width).contains(where: { $0 != 0 }) { failures.append("data past row \(done)") }
                reads += 1
            } catch {
                failures.append("\(error)")
            }
        }
        XCTAssertEqual(p.terminationStatus, 0, stderr())
        XCTAssertEqual(failures, [])
        XCTAssertGreaterThan(reads, 3, "the reader polled while the writer worked")
    }

    func testH5pyReadsWhileAWriterHoldsTheCache() throws {
        try XCTSkipUnless(h5pyAvailable(), "h5py/numpy not installed (make test installs python3-h5py)")
        let images = try dataset(perClass: 5)
        let cache = path("c.h5")
        XCTAssertEqual(try build(cache, images).0, 0)
        let writer = try CacheWriter(path: cache)
        defer { writer.abandon() }
        let py = Process()
        py.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        py.arguments = [h5pyPython, "-c", "import h5py, sys; f = h5py.File(sys.argv[1], 'r'); print(f['runs/edge/logits'].shape)", cache]
        let out = Pipe()
        py.standardOutput = out
        py.standardError = out
        try py.run()
        py.waitUntilExit()
        XCTAssertEqual(py.terminationStatus, 0, String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    func testASecondWriterIsRefusedNamingTheProcessAndReadersGoOn() throws {
        let images = try dataset(perClass: 5)
        let cache = path("c.h5")
        XCTAssertEqual(try build(cache, images).0, 0)
        for locking in ["TRUE", "FALSE"] {
            let writer = try CacheWriter(path: cache)  // this process writes the cache
            let env = ["HDF5_USE_FILE_LOCKING": locking]
            let (s1, _, e1) = try runSemcom(buildArguments(cache, images), environment: env)
            XCTAssertEqual(s1, 1)
            XCTAssertTrue(e1.contains("\(cache): is being written by another process (pid \(getpid()))"), e1)
            XCTAssertFalse(e1.contains("damaged"), e1)
            // Reading needs no lock: the full-image answers are known without the server.
            let (s2, _, e2) = try runSemcom(["eval", "--cache", cache, "--edge", "edge", "--server", "server",
                                             "--rule", "topk:64", "--gate", "none"], environment: env)
            XCTAssertEqual(s2, 0, e2)
            let (s3, _, e3) = try runSemcom(["eval", "--cache", cache, "--edge", "edge", "--server", "server",
                                             "--rule", "topk:10", "--gate", "none"], environment: env)
            XCTAssertEqual(s3, 1, "a fill is a second writer")
            XCTAssertTrue(e3.contains("being written by another process (pid \(getpid()))"), e3)
            let (_, info, _) = try runSemcom(["cache", "info", cache])
            XCTAssertTrue(info.contains("being written now by another process (pid \(getpid()))"), info)
            writer.abandon()
        }
    }

    func testTwoSweepsAtOnceWithoutHDF5LockingLoseNoAnswer() throws {
        let images = try dataset(perClass: 6)
        let cache = path("c.h5")
        XCTAssertEqual(try build(cache, images).0, 0)
        let env = ["HDF5_USE_FILE_LOCKING": "FALSE"]
        let grids = ["2:30:4", "34:62:4"]
        func sweep(_ grid: String) -> [String] {
            ["sweep", "--cache", cache, "--edge", "edge", "--server", "server", "--rule", "topk:1", "--gate", "none",
             "--rule-range", grid, "--out", path("\(grid).csv"), "--threads", "1"]
        }
        let running = try grids.map { try start(sweep($0), environment: env) }
        let statuses = running.map { finish($0.0) }
        XCTAssertTrue(statuses.contains(0), "one of them wrote")
        for (grid, (status, (_, stderr))) in zip(grids, zip(statuses, running)) where status != 0 {
            // Refused because the other one was writing: it says so, and runs afterwards.
            XCTAssertTrue(stderr().contains("being written by another process"), stderr())
            let (again, _, message) = try runSemcom(sweep(grid), environment: env)
            XCTAssertEqual(again, 0, message)
        }
        // Every answer of both grids is stored: the sweeps run on a read-only copy without computing anything.
        XCTAssertEqual(chmod(cache, 0o444), 0)
        for grid in grids {
            let (status, _, stderr) = try runSemcom(sweep(grid), environment: env)
            XCTAssertEqual(status, 0, stderr)
        }
    }

    func testReadOnlyCacheAnswersWhatItStoresAndRefusesToStoreMore() throws {
        let images = try dataset(perClass: 5)
        let cache = path("c.h5")
        XCTAssertEqual(try build(cache, images).0, 0)
        XCTAssertEqual(chmod(cache, 0o444), 0)
        let before = try bytes(cache)
        let (s1, _, e1) = try runSemcom(["eval", "--cache", cache, "--edge", "edge", "--server", "server", "--rule", "topk:64", "--gate", "none"])
        XCTAssertEqual(s1, 0, e1)
        let (s2, _, e2) = try runSemcom(["eval", "--cache", cache, "--edge", "edge", "--server", "server", "--rule", "topk:8", "--gate", "none"])
        XCTAssertEqual(s2, 1)
        XCTAssertTrue(e2.contains("\(cache): is read-only"), e2)
        XCTAssertEqual(try bytes(cache), before)
        // The REPL says so for the eval that needs new answers, and answers the one it can.
        let (s3, o3, e3) = try runSemcom(["repl", "--keep-going", cache], input: "eval\nset rule topk:64\nset gate none\neval\n")
        XCTAssertEqual(s3, 1, "one line failed: \(e3)")
        XCTAssertTrue(e3.contains("\(cache): is read-only"), e3)
        XCTAssertTrue(o3.contains("topk:64"), o3)
    }

    // MARK: Images

    func testAnUnreadableImageIsRecordedSkippedAndSaid() throws {
        let images = try dataset(perClass: 10)
        let bad = images + "/3/" + (try FileManager.default.contentsOfDirectory(atPath: images + "/3").sorted()[2])
        try Data("not a JPEG at all".utf8).write(to: URL(fileURLWithPath: bad))
        let cache = path("c.h5")
        let (s1, o1, e1) = try build(cache, images)
        XCTAssertEqual(s1, 0, e1)
        XCTAssertTrue(o1.contains("1 image(s) could not be read"), o1)
        let (_, info, _) = try runSemcom(["cache", "info", cache])
        XCTAssertTrue(info.contains(bad), info)
        let (s2, o2, e2) = try runSemcom(["eval", "--cache", cache, "--edge", "edge", "--server", "server", "--json"])
        XCTAssertEqual(s2, 0, e2)
        let json = try JSONSerialization.jsonObject(with: Data(o2.utf8)) as! [String: Any]
        XCTAssertEqual(json["unreadable_images"] as? Int, 1)
        XCTAssertEqual(json["images"] as? Int, 99)
        XCTAssertEqual(json["partial"] as? Bool, false)
        let (_, text, _) = try runSemcom(["eval", "--cache", cache, "--edge", "edge", "--server", "server"])
        XCTAssertTrue(text.contains("1 unreadable image(s) left out"), text)
        // The REPL's image command names it too (row 32: class 3, third file), and the session goes on.
        let (s4, o4, e4) = try runSemcom(["repl", "--keep-going", cache], input: "image 32\nimage 33\n")
        XCTAssertEqual(s4, 1, "a failing line fails a piped session: \(e4)")
        XCTAssertTrue(e4.contains("image 32 could not be read when the cache was built") && e4.contains(bad), e4)
        XCTAssertTrue(o4.contains("33: "), o4)
        // Rerunning the build finds nothing to do (the bad image does not block it).
        let before = try inventory(cache)
        XCTAssertEqual(try build(cache, images).0, 0)
        assertSame(try inventory(cache).filter { !$0.key.hasPrefix("/memo") }, before.filter { !$0.key.hasPrefix("/memo") })
        // --strict stops at it, naming it.
        let (s3, _, e3) = try build(path("strict.h5"), images, ["--strict"])
        XCTAssertEqual(s3, 1)
        XCTAssertTrue(e3.contains(bad) && e3.contains("--strict"), e3)
    }

    func testAChangedImageStopsAFillNamingIt() throws {
        let images = try dataset(perClass: 5)
        let cache = path("c.h5")
        XCTAssertEqual(try build(cache, images).0, 0)
        let changed = images + "/0/" + (try FileManager.default.contentsOfDirectory(atPath: images + "/0").sorted()[0])
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: changed))
        handle.seekToEndOfFile()
        handle.write(Data([0]))  // still a valid JPEG, other bytes
        try handle.close()
        let (status, _, stderr) = try runSemcom(["eval", "--cache", cache, "--edge", "edge", "--server", "server", "--rule", "topk:8", "--gate", "none"])
        XCTAssertEqual(status, 1)
        XCTAssertTrue(stderr.contains(changed) && stderr.contains("has changed since the cache was built"), stderr)
    }

    func testRelativePathsWorkFromAnywhereAndAMovedFolderIsRelocated() throws {
        try dataset(perClass: 3)
        let (s1, _, e1) = try runSemcom(["cache", "build", "--out", "c.h5", "--images", "data"] + imageOptions + models, directory: tmp.path)
        XCTAssertEqual(s1, 0, e1)
        let cache = path("c.h5")
        let eval = ["eval", "--cache", cache, "--edge", "edge", "--server", "server", "--gate", "none", "--rule"]
        let (s2, _, e2) = try runSemcom(eval + ["topk:8"], directory: "/")
        XCTAssertEqual(s2, 0, e2)
        try FileManager.default.moveItem(atPath: path("data"), toPath: path("moved"))
        let (s3, _, e3) = try runSemcom(eval + ["topk:16"], directory: "/")
        XCTAssertEqual(s3, 1)
        XCTAssertTrue(e3.contains(path("data")), e3)
        let (_, info, _) = try runSemcom(["cache", "info", cache])
        XCTAssertTrue(info.contains("semcom cache relocate"), info)
        let (s4, _, e4) = try runSemcom(["cache", "relocate", cache, "--images-root", path("moved")])
        XCTAssertEqual(s4, 0, e4)
        let (s5, _, e5) = try runSemcom(eval + ["topk:16"], directory: "/")
        XCTAssertEqual(s5, 0, e5)
    }

    func testOutOfRangeLabelsAreRefusedNamingTheRow() throws {
        let images = try dataset(perClass: 1)
        let csv = path("list.csv")
        try "path,label\n\(images)/0/\(try FileManager.default.contentsOfDirectory(atPath: images + "/0")[0]),0\n\(images)/1/\(try FileManager.default.contentsOfDirectory(atPath: images + "/1")[0]),5000\n"
            .write(toFile: csv, atomically: true, encoding: .utf8)
        let (status, _, stderr) = try build(path("c.h5"), csv)
        XCTAssertEqual(status, 1)
        XCTAssertTrue(stderr.contains("row 1") && stderr.contains("label 5000 is out of range for model 'edge' (10 classes"), stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("c.h5")))
    }
}
