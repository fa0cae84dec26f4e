import Safety
import Wire

/// What travels on a link connection (docs/wire.md, "The link"), one message per frame.
public enum LinkMessage: Equatable, Sendable {
    /// Server to client, first: the protocol version and a fresh 16-byte nonce
    /// from which both sides derive the connection's key.
    case hello(version: UInt8, nonce: [UInt8])
    /// Client to server: one image's wire frame (`WireImage`, docs/wire.md) under the client's request id.
    case request(id: UInt64, frame: [UInt8])
    /// Server to client: the answer to request `id`.
    case answer(ServerAnswer)
    /// Server to client: why the server closes this connection (a malformed
    /// request, a grid the server's model does not take, shutting down).
    case refusal(id: UInt64, reason: String)

    /// The frame type byte.
    var type: UInt8 {
        switch self {
        case .hello: return 1
        case .request: return 2
        case .answer: return 3
        case .refusal: return 4
        }
    }
}

/// The server's answer to one request: its most likely classes, best first,
/// and where the server's time went (microseconds).
public struct ServerAnswer: Equatable, Sendable {
    public var id: UInt64
    /// At most 5 classes, best first (the argmax first; ties to the lower class).
    public var classes: [Int]
    /// Turning the frame into the model's input (payload decode, normalisation).
    public var decodeMicros: UInt32
    /// From the request's arrival to the start of its batch's forward pass.
    public var queueMicros: UInt32
    /// The forward pass of the request's batch.
    public var computeMicros: UInt32
    /// Requests in that batch (all with the same k).
    public var batch: UInt16

    public init(id: UInt64, classes: [Int], decodeMicros: UInt32, queueMicros: UInt32, computeMicros: UInt32, batch: UInt16) {
        self.id = id
        self.classes = classes
        self.decodeMicros = decodeMicros
        self.queueMicros = queueMicros
        self.computeMicros = computeMicros
        self.batch = batch
    }
}

/// A link frame that cannot be accepted; the connection it came on is closed.
public struct LinkError: KindedError, Equatable {
    public let reason: String
    /// False for a frame whose tag does not verify: its sender gets no reply.
    public let authenticated: Bool
    public init(_ reason: String, authenticated: Bool = true) {
        self.reason = reason
        self.authenticated = authenticated
    }
    public var kind: ErrorKind { .corrupt }
    public var description: String { reason }
}

/// The link's framing and authentication, one instance per connection and
/// side (docs/wire.md, "The link"). Every frame is
///
///     length u32   bytes that follow: 1 + body + 32
///     type   u8    1 hello, 2 request, 3 answer, 4 refusal
///     body
///     tag    32    HMAC-SHA256(key, direction u8, sequence u64, type u8, body)
///
/// little-endian. `direction` is 0 from client to server and 1 back;
/// `sequence` counts the frames sent in that direction on this connection
/// from 0, so a frame replayed, reordered or reflected fails its tag. The
/// hello is keyed with the pre-shared key itself; every later frame with the
/// connection key HMAC-SHA256(psk, "semcom link 1" ‖ nonce).
public struct LinkFraming {
    public enum Side: Sendable { case server, client }

    /// Bytes of a frame beside its body: length, type and tag.
    public static let overheadBytes = 4 + 1 + HMACSHA256.tagBytes
    public static let version: UInt8 = 1
    static let nonceBytes = 16

    let side: Side
    let psk: [UInt8]
    /// The connection key, once the hello has passed.
    private(set) var key: [UInt8]?
    private var sent: UInt64 = 0, received: UInt64 = 0
    /// The largest `length` accepted; a longer frame closes the connection unread.
    public let maxFrameBytes: Int

    /// A fresh framing (no hello yet) for one connection's `side`.
    ///
    /// - Throws: `LinkSetupError` when `psk` is shorter than 16 bytes.
    public init(side: Side, psk: [UInt8], maxFrameBytes: Int) throws(LinkSetupError) {
        guard psk.count >= 16 else { throw LinkSetupError("a pre-shared key of \(psk.count) bytes; at least 16 are needed") }
        self.side = side
        self.psk = psk
        self.maxFrameBytes = maxFrameBytes
    }

    static func connectionKey(psk: [UInt8], nonce: [UInt8]) -> [UInt8] {
        HMACSHA256.tag(key: psk, Array("semcom link 1".utf8), nonce)
    }

    /// The frame of `message`, the next in this side's sequence.
    public mutating func seal(_ message: LinkMessage) -> [UInt8] {
        var body: [UInt8] = []
        switch message {
        case .hello(let version, let nonce):
            precondition(side == .server && sent == 0 && nonce.count == Self.nonceBytes)
            body = [version] + nonce
        case .request(let id, let frame):
            body.appendLittleEndian(id)
            body += frame
        case .answer(let a):
            body.appendLittleEndian(a.id)
            body.append(UInt8(a.classes.count))
            for c in a.classes { body.appendLittleEndian(UInt32(c)) }
            body.appendLittleEndian(a.decodeMicros)
            body.appendLittleEndian(a.queueMicros)
            body.appendLittleEndian(a.computeMicros)
            body.appendLittleEndian(a.batch)
        case .refusal(let id, let reason):
            body.appendLittleEndian(id)
            body += Array(reason.utf8.prefix(1000))
        }
        let key: [UInt8]
        if case .hello(_, let nonce) = message {
            key = psk
            self.key = Self.connectionKey(psk: psk, nonce: nonce)
        } else {
            key = self.key!
        }
        let type = message.type
        var sequence: [UInt8] = []
        sequence.appendLittleEndian(sent)
        let tag = HMACSHA256.tag(key: key, [side == .client ? 0 : 1], sequence, [type], body)
        sent += 1
        var out: [UInt8] = []
        out.reserveCapacity(Self.overheadBytes + body.count)
        out.appendLittleEndian(UInt32(1 + body.count + HMACSHA256.tagBytes))
        out.append(type)
        out += body
        out += tag
        return out
    }

    /// Checks a frame's declared length before its bytes are read.
    public func check(length: UInt32) throws(LinkError) {
        guard Int(length) >= 1 + HMACSHA256.tagBytes else { throw LinkError("frame of \(length) bytes, shorter than a type and a tag", authenticated: false) }
        guard Int(length) <= maxFrameBytes else { throw LinkError("frame of \(length) bytes, over the limit of \(maxFrameBytes)", authenticated: false) }
    }

    /// The message of one frame's bytes after its length field (type, body,
    /// tag), the next in the peer's sequence. A tag that does not verify
    /// throws with `authenticated` false; a frame that verifies but is not a
    /// message this side may receive, or whose body is malformed, throws with it true.
    public mutating func open(_ frame: [UInt8]) throws(LinkError) -> LinkMessage {
        try check(length: UInt32(frame.count))
        let type = frame[0]
        let body = Array(frame[1..<(frame.count - HMACSHA256.tagBytes)])
        let tag = Array(frame[(frame.count - HMACSHA256.tagBytes)...])
        var sequence: [UInt8] = []
        sequence.appendLittleEndian(received)
        let direction: UInt8 = side == .client ? 1 : 0
        // The client's first frame must be the hello, keyed with the psk.
        let expectsHello = side == .client && key == nil
        guard let k = expectsHello ? psk : key else { throw LinkError("a frame before the hello", authenticated: false) }
        guard HMACSHA256.equal(tag, HMACSHA256.tag(key: k, [direction], sequence, [type], body)) else {
            throw LinkError(received == 0 ? "authentication failed: the first frame's tag does not verify (another key?)"
                                          : "authentication failed: frame \(received)'s tag does not verify", authenticated: false)
        }
        received += 1
        let message = try Self.message(type: type, body: body, receivedBy: side, helloDone: !expectsHello)
        if case .hello(_, let nonce) = message { key = Self.connectionKey(psk: psk, nonce: nonce) }
        return message
    }

    /// The message of a frame whose tag has verified: its type and body, as
    /// `side` may receive them (a client: a hello first, then answers and
    /// refusals; a server: requests). Throws with the reason otherwise.
    public static func message(type: UInt8, body: [UInt8], receivedBy side: Side, helloDone: Bool) throws(LinkError) -> LinkMessage {
        var r = ByteReader(body)
        switch (type, side) {
        case (1, .client) where !helloDone:
            guard body.count == 1 + nonceBytes else { throw LinkError("hello of \(body.count) bytes") }
            guard body[0] == version else { throw LinkError("link protocol version \(body[0]); this build speaks version \(version)") }
            return .hello(version: body[0], nonce: Array(body[1...]))
        case (2, .server):
            guard r.remaining >= 8 else { throw LinkError("request of \(body.count) bytes, shorter than its id") }
            let id = r.u64()
            return .request(id: id, frame: r.take(r.remaining))
        case (3, .client) where helloDone:
            guard r.remaining >= 9 else { throw LinkError("answer of \(body.count) bytes") }
            let id = r.u64(), n = Int(r.byte())
            guard n <= 5, r.remaining == 4 * n + 14 else { throw LinkError("answer of \(body.count) bytes for \(n) classes") }
            let classes = (0..<n).map { _ in Int(r.u32()) }
            return .answer(ServerAnswer(id: id, classes: classes, decodeMicros: r.u32(), queueMicros: r.u32(), computeMicros: r.u32(), batch: r.u16()))
        case (4, .client) where helloDone:
            guard r.remaining >= 8 else { throw LinkError("refusal of \(body.count) bytes") }
            let id = r.u64()
            return .refusal(id: id, reason: String(decoding: r.take(r.remaining), as: UTF8.self))
        default:
            throw LinkError("frame type \(type) is not one a \(side == .server ? "server" : "client") receives\(helloDone ? "" : " before the hello")")
        }
    }
}
