import XCTest
@testable import Link

/// The link's frames (docs/wire.md, "The link"): what one side seals the
/// other opens, and a frame altered, replayed, reordered, reflected or keyed
/// with another key is refused as unauthenticated.
final class LinkFramingTests: XCTestCase {
    let psk = [UInt8](repeating: 7, count: 32)
    let nonce = [UInt8](0..<16)

    /// A server and a client framing past the hello.
    func pair() throws -> (LinkFraming, LinkFraming) {
        var server = try LinkFraming(side: .server, psk: psk, maxFrameBytes: 1 << 20)
        var client = try LinkFraming(side: .client, psk: psk, maxFrameBytes: 1 << 20)
        let hello = server.seal(.hello(version: LinkFraming.version, nonce: nonce))
        XCTAssertEqual(try client.open(Array(hello.dropFirst(4))), .hello(version: 1, nonce: nonce))
        return (server, client)
    }

    func testMessagesRoundTrip() throws {
        var (server, client) = try pair()
        let request = LinkMessage.request(id: 42, frame: [1, 2, 3])
        let sealed = client.seal(request)
        XCTAssertEqual(sealed.count, LinkFraming.overheadBytes + 8 + 3)
        XCTAssertEqual(Array(sealed.prefix(4)), [UInt8(sealed.count - 4), 0, 0, 0])
        XCTAssertEqual(try server.open(Array(sealed.dropFirst(4))), request)
        for message in [LinkMessage.answer(ServerAnswer(id: 42, classes: [3, 1, 0, 9, 2], decodeMicros: 5, queueMicros: 6, computeMicros: 7, batch: 3)),
                        .answer(ServerAnswer(id: 1, classes: [], decodeMicros: 0, queueMicros: 0, computeMicros: 0, batch: 1)),
                        .refusal(id: 9, reason: "no")] {
            XCTAssertEqual(try client.open(Array(server.seal(message).dropFirst(4))), message)
        }
    }

    func assertUnauthenticated(_ body: () throws -> LinkMessage, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { e in
            XCTAssertEqual((e as? LinkError)?.authenticated, false, "\(e)", file: file, line: line)
        }
    }

    func testAlteredReplayedReflectedOrForeignFramesAreRefused() throws {
        var (server, client) = try pair()
        let first = Array(client.seal(.request(id: 1, frame: [9])).dropFirst(4))
        var altered = first
        altered[10] ^= 1
        var s = server
        assertUnauthenticated { try s.open(altered) }
        XCTAssertNoThrow(try server.open(first))
        assertUnauthenticated { try server.open(first) }  // replayed: sequence 1 expected now
        // A server frame sent back to the server (reflected) does not verify.
        let answer = Array(server.seal(.answer(ServerAnswer(id: 1, classes: [0], decodeMicros: 0, queueMicros: 0, computeMicros: 0, batch: 1))).dropFirst(4))
        var s2 = server
        assertUnauthenticated { try s2.open(answer) }
        // Another key: the hello already fails on the client.
        var server2 = try LinkFraming(side: .server, psk: psk, maxFrameBytes: 1 << 20)
        var stranger = try LinkFraming(side: .client, psk: [UInt8](repeating: 8, count: 32), maxFrameBytes: 1 << 20)
        assertUnauthenticated { try stranger.open(Array(server2.seal(.hello(version: 1, nonce: self.nonce)).dropFirst(4))) }
        // A client frame before the hello's key exists has nothing to verify against.
        var fresh = try LinkFraming(side: .server, psk: psk, maxFrameBytes: 1 << 20)
        assertUnauthenticated { try fresh.open(first) }
    }

    func testLengthsAreCheckedBeforeReading() throws {
        let f = try LinkFraming(side: .server, psk: psk, maxFrameBytes: 1000)
        XCTAssertThrowsError(try f.check(length: 1001))
        XCTAssertThrowsError(try f.check(length: 32))
        XCTAssertNoThrow(try f.check(length: 1000))
    }

    func testAuthenticatedButUnexpectedFramesAreRefusedWithAReason() throws {
        var (server, client) = try pair()
        let wrongType = client.seal(.answer(ServerAnswer(id: 1, classes: [], decodeMicros: 0, queueMicros: 0, computeMicros: 0, batch: 1)))
        XCTAssertThrowsError(try server.open(Array(wrongType.dropFirst(4)))) { e in
            XCTAssertEqual((e as? LinkError)?.authenticated, true)
            XCTAssertTrue("\(e)".contains("not one a server receives"), "\(e)")
        }
    }

    /// Frames written from docs/wire.md by another program (Python's hmac,
    /// the fuzz harness's seeds: Fuzz/link/corpus) parse, and the tagged one verifies.
    func testFramesWrittenFromTheSpecElsewhereParse() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/link/corpus")
        func seed(_ name: String) throws -> [UInt8] { try [UInt8](Data(contentsOf: corpus.appendingPathComponent(name))) }
        let wire = try [UInt8](Data(contentsOf: corpus.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("wire/corpus/raw-list")))
        func body(_ name: String, _ side: LinkFraming.Side, helloDone: Bool) throws -> LinkMessage {
            let b = try seed(name)
            XCTAssertEqual(b[0], 0)
            return try LinkFraming.message(type: b[1], body: Array(b[2...]), receivedBy: side, helloDone: helloDone)
        }
        XCTAssertEqual(try body("body-hello", .client, helloDone: false), .hello(version: 1, nonce: Array(0..<16)))
        XCTAssertEqual(try body("body-request", .server, helloDone: true), .request(id: 7, frame: wire))
        XCTAssertEqual(try body("body-answer", .client, helloDone: true),
                       .answer(ServerAnswer(id: 7, classes: [3, 1], decodeMicros: 10, queueMicros: 20, computeMicros: 30, batch: 4)))
        XCTAssertEqual(try body("body-refusal", .client, helloDone: true), .refusal(id: 7, reason: "no"))
        var server = try LinkFraming(side: .server, psk: [UInt8](repeating: 0x5A, count: 32), maxFrameBytes: 1 << 20)
        _ = server.seal(.hello(version: 1, nonce: Array(0..<16)))
        let frame = try seed("frame-request")
        XCTAssertEqual(try server.open(Array(frame.dropFirst())), .request(id: 7, frame: wire))
    }

    func testAShortKeyIsAnErrorBeforeAnyConnection() {
        XCTAssertThrowsError(try LinkFraming(side: .server, psk: [UInt8](repeating: 1, count: 15), maxFrameBytes: 1 << 20)) { e in
            XCTAssertTrue("\(e)".contains("15 bytes"), "\(e)")
        }
        XCTAssertThrowsError(try LinkClient(host: "127.0.0.1", port: 1, psk: [1, 2, 3]).connect()) { e in
            XCTAssertTrue("\(e)".contains("3 bytes"), "\(e)")
        }
    }
}
