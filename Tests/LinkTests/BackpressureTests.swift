import Collaborative
import Foundation
import Imaging
import Logging
import NIOCore
import NIOEmbedded
import Wire
import XCTest
@testable import Link

/// A connection's requests in the server are bounded: once `window` of them
/// wait for answers, the server stops reading from that connection (its
/// socket reads are held back), and reads again when an answer goes out.
final class BackpressureTests: XCTestCase {
    /// Counts the reads that reach the socket.
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = Any
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    func testReadsStopAtTheWindowAndResumeWithAnAnswer() throws {
        let weights = LiveLinkTests.demo("Demo/models/server.safetensors")
        let model = try Classifier(weights: weights)
        var options = ServerOptions(psk: [UInt8](repeating: 1, count: 16))
        options.window = 2
        let server = LinkServer(model: model.model, preprocessing: model.preprocessing, options: options, logger: Logger(label: "test"))
        // The batcher is not started: requests stay in flight until run by hand.
        let counter = ReadCounter(), channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([counter, ServeHandler(server: server, channel: channel, peer: "test")])
        defer { _ = try? channel.finish() }
        let crop = RGBImage(width: 64, height: 64, pixels: [UInt8](repeating: 50, count: 64 * 64 * 3))
        let frame = try PatchCoding.encode(crop, grid: server.grid, indices: [0, 1], codec: .raw, imageID: 0).encoded()

        channel.read()
        XCTAssertEqual(counter.reads, 1)
        try channel.writeInbound(LinkMessage.request(id: 1, frame: frame))
        channel.read()
        XCTAssertEqual(counter.reads, 2, "one request in flight, window 2: reading goes on")
        try channel.writeInbound(LinkMessage.request(id: 2, frame: frame))
        channel.read()
        channel.read()
        XCTAssertEqual(counter.reads, 2, "two requests in flight: no more reads")
        // The batcher answers both; the held-back read goes to the socket.
        server.batcher.runQueued()
        channel.embeddedEventLoop.run()
        XCTAssertEqual(counter.reads, 3)
        var answers: [UInt64] = []
        while let m = try channel.readOutbound(as: LinkMessage.self) {
            if case .answer(let a) = m { answers.append(a.id) }
        }
        XCTAssertEqual(answers, [1, 2])
    }
}
