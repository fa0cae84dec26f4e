import Collaborative
import Foundation
import Imaging
import Logging
import NIOCore
import NIOPosix
import Wire
import XCTest
@testable import Link

/// `semcom serve` and `semcom edge` on loopback with the bundled demo models:
/// the live answers are the cache's image by image, and a client that is not
/// authenticated, or sends what the server cannot take, is closed with a
/// logged reason while the others go on.
final class LiveLinkTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func demo(_ path: String) -> String { root.appendingPathComponent(path).path }
    let psk = Array("a pre-shared key for the tests".utf8)

    /// A server of the demo server model on a free loopback port, logging into `log`.
    func startServer(_ configure: (inout ServerOptions) -> Void = { _ in }) throws -> (LinkServer, Int, LogRecorder) {
        let server = try Classifier(weights: Self.demo("Demo/models/server.safetensors"))
        var options = ServerOptions(psk: psk)
        options.threads = 2
        configure(&options)
        let log = LogRecorder()
        let s = LinkServer(model: server.model, preprocessing: server.preprocessing, options: options,
                           logger: Logger(label: "test") { _ in log })
        return (s, try s.start(host: "127.0.0.1", port: 0), log)
    }

    func edge(_ policy: EdgePolicy = EdgePolicy()) throws -> EdgeDevice {
        EdgeDevice(classifier: try Classifier(weights: Self.demo("Demo/models/edge.safetensors")), policy: policy)
    }

    func testLiveAnswersAreTheCachesImageByImage() throws {
        // Every 50th evaluation image: 40 images, all ten classes.
        let all = try ImageList.load(Self.demo("Demo/digits/eval"))
        let rows = Array(stride(from: 0, to: all.count, by: 50))
        let list = ImageList(paths: rows.map { all.paths[$0] }, labels: rows.map { all.labels[$0] })
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-link-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        var builder = CacheBuilder(images: list, models: ["edge", "server"].map {
            ModelSpec(name: $0, arch: "auto", weights: Self.demo("Demo/models/\($0).safetensors"))
        })
        builder.threads = 2
        builder.preprocessing.size = 64
        builder.preprocessing.cropPct = 1
        let path = tmp.appendingPathComponent("cache.h5").path
        try builder.build(path)
        let evaluator = Evaluator(cache: try Cache(path: path))

        let (server, port, _) = try startServer()
        defer { server.drain() }
        for codec in [Codec.raw, .jpeg(quality: 50)] {
            var policy = EdgePolicy()
            policy.codec = codec
            let client = LinkClient(host: "127.0.0.1", port: port, psk: psk)
            try client.connect()
            let results = try EdgeRun(device: try edge(policy), client: client).run(list)
            XCTAssertEqual(results.count, list.count)
            let sent = results.filter(\.decision.sends)
            XCTAssertGreaterThanOrEqual(sent.count, 8, "too few images sent to test the server")
            var setting = Setting(edge: "edge", server: "server")
            setting.codec = codec
            let mismatches = try EdgeRun.mismatches(results, cache: evaluator, setting: setting)
            XCTAssertEqual(mismatches.map(\.description), [], "\(codec)")
            // The bytes are the cache's count of the same frames (raw: exact, from the grid alone).
            if codec == .raw {
                XCTAssertEqual(EdgeReport(results, failed: 0, strayAnswers: 0).bytesPerImage, try evaluator.evaluate(setting).bytesPerImage, accuracy: 1e-9)
            }
            for r in sent {
                XCTAssertEqual(r.frameBytes, r.decision.frame!.byteCount)
                XCTAssertEqual(r.attempts, 1)
                XCTAssertGreaterThan(r.transferMs, 0)
            }
            XCTAssertEqual(client.strayAnswers, 0)
            client.close()
        }
    }

    /// Bytes a raw TCP peer receives after sending `bytes`, and whether the server closed.
    func rawExchange(port: Int, send bytes: [UInt8]) throws -> (received: [UInt8], closed: Bool) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let collector = Collector()
        let channel = try ClientBootstrap(group: group)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) } }
            .connect(host: "127.0.0.1", port: port).wait()
        try channel.writeAndFlush(channel.allocator.buffer(bytes: bytes)).wait()
        let deadline = Date().addingTimeInterval(5)
        while channel.isActive && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        let active = channel.isActive
        channel.close(promise: nil)
        return (try channel.eventLoop.submit { collector.bytes }.wait(), !active)
    }

    final class Collector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        var bytes: [UInt8] = []
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var b = unwrapInboundIn(data)
            bytes += b.readBytes(length: b.readableBytes) ?? []
        }
    }

    func testUnauthenticatedAndMalformedClientsAreClosedAndOthersGoOn() throws {
        let (server, port, log) = try startServer { $0.maxFrameBytes = 100_000 }
        defer { server.drain() }
        let device = try edge()
        let folder = Self.demo("Demo/digits/eval/3")
        let image = folder + "/" + (try FileManager.default.contentsOfDirectory(atPath: folder)).sorted()[0]
        let crop = try ImageFiles.load(image, preprocessing: device.classifier.preprocessing, expected: .none).0
        let good = try PatchCoding.encode(crop, grid: device.grid, indices: [0, 5, 9], codec: .raw, imageID: 1).encoded()

        // A client that holds the key, connected the whole time.
        let honest = LinkClient(host: "127.0.0.1", port: port, psk: psk)
        try honest.connect()
        let before = try honest.request(id: 1, frame: good).answer

        // Forged frame: a plausible length, type and body, a tag made without the key.
        var forged: [UInt8] = [UInt8(1 + 8 + 32), 0, 0, 0, 2] + [UInt8](repeating: 0, count: 8) + [UInt8](repeating: 0xAB, count: 32)
        let (received, closed) = try rawExchange(port: port, send: forged)
        XCTAssertTrue(closed)
        XCTAssertEqual(received.count, LinkFraming.overheadBytes + 1 + 16, "an unauthenticated peer gets the hello and nothing else")
        // A length over the limit is refused before its bytes are read.
        forged = [0xFF, 0xFF, 0xFF, 0x7F, 2]
        XCTAssertTrue(try rawExchange(port: port, send: forged).closed)

        // Authenticated, but the frame is not a wire frame, or not for this model's grid.
        let other = LinkClient(host: "127.0.0.1", port: port, psk: psk)
        try other.connect()
        XCTAssertThrowsError(try other.request(id: 7, frame: Array("not a frame".utf8))) { e in
            guard case .refused(let reason)? = e as? LinkClientError else { return XCTFail("\(e)") }
            XCTAssertTrue(reason.contains("truncated header"), reason)
        }
        var wrongVersion = good
        wrongVersion[4] = 2
        var outOfRange = try PatchCoding.encode(crop, grid: device.grid, indices: [0, 5, 9], codec: .raw, imageID: 1).encoded()
        outOfRange[WireImage.headerBytes + 2] = 64  // the list's last index: patch 64 of 0..<64 (k = 3 < 8, so a list)
        for (id, frame, reason) in [(UInt64(10), wrongVersion, "version 2"), (11, outOfRange, "out of range"),
                                    (12, Array(good.dropLast(10)), "bytes after the header")] {
            try other.connect()
            XCTAssertThrowsError(try other.request(id: id, frame: frame)) { e in
                guard case .refused(let r)? = e as? LinkClientError else { return XCTFail("\(e)") }
                XCTAssertTrue(r.contains(reason), "\(r) (expected '\(reason)')")
            }
        }
        try other.connect()
        let wrongGrid = try PatchCoding.encode(RGBImage(width: 32, height: 32, pixels: [UInt8](repeating: 0, count: 32 * 32 * 3)),
                                               grid: PatchGrid(patchSize: 16, columns: 2, rows: 2), indices: [1], codec: .raw, imageID: 2).encoded()
        XCTAssertThrowsError(try other.request(id: 8, frame: wrongGrid)) { e in
            guard case .refused(let reason)? = e as? LinkClientError else { return XCTFail("\(e)") }
            XCTAssertTrue(reason.contains("grid"), reason)
        }
        // A frame the client's limit allows but the server's does not: the connection closes.
        let big = LinkClient(host: "127.0.0.1", port: port, psk: psk, maxFrameBytes: 1 << 20)
        try big.connect()
        XCTAssertThrowsError(try big.request(id: 9, frame: [UInt8](repeating: 0, count: 200_000)))

        // The honest client saw none of it.
        XCTAssertEqual(try honest.request(id: 2, frame: good).answer.classes, before.classes)
        XCTAssertEqual(honest.strayAnswers, 0)
        let logged = log.messages.joined(separator: "\n")
        for reason in ["authentication failed", "over the limit", "truncated header", "version 2", "out of range", "bytes after the header", "grid of 2x2 patches"] {
            XCTAssertTrue(logged.contains(reason), "no '\(reason)' in the log:\n\(logged)")
        }
    }

    func testDrainAnswersWhatIsInHand() throws {
        // A long batching wait keeps the request in the server while it drains.
        let (server, port, _) = try startServer { $0.batchWait = 0.5 }
        let device = try edge()
        let crop = RGBImage(width: 64, height: 64, pixels: [UInt8](repeating: 90, count: 64 * 64 * 3))
        let frame = try PatchCoding.encode(crop, grid: device.grid, indices: Array(0..<64), codec: .raw, imageID: 3).encoded()
        let client = LinkClient(host: "127.0.0.1", port: port, psk: psk)
        try client.connect()
        let answered = expectation(description: "answer")
        nonisolated(unsafe) let waiting = client  // used by that thread alone
        DispatchQueue.global().async {
            if (try? waiting.request(id: 1, frame: frame)) != nil { answered.fulfill() }
        }
        Thread.sleep(forTimeInterval: 0.2)
        server.drain()
        wait(for: [answered], timeout: 5)
        // Nothing listens any more.
        XCTAssertThrowsError(try LinkClient(host: "127.0.0.1", port: port, psk: psk).connect(timeout: 2))
    }
}

/// A swift-log handler that keeps the messages.
final class LogRecorder: LogHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    var messages: [String] { lock.lock(); defer { lock.unlock() }; return lines }
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        lock.lock()
        lines.append("\(level) \(message)")
        lock.unlock()
    }
}
