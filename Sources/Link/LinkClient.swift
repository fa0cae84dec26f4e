import Foundation
import NIOCore
import NIOPosix
import Safety

/// An edge's connection to a `LinkServer`: connects, checks the server's
/// hello, sends requests and waits for their answers. Use from one thread.
public final class LinkClient {
    public let host: String
    public let port: Int
    let psk: [UInt8]
    let maxFrameBytes: Int
    private let group: MultiThreadedEventLoopGroup
    private var channel: Channel?
    private var handler: ClientHandler?

    public init(host: String, port: Int, psk: [UInt8], maxFrameBytes: Int = 4 << 20) {
        self.host = host
        self.port = port
        self.psk = psk
        self.maxFrameBytes = maxFrameBytes
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    deinit { try? group.syncShutdownGracefully() }

    public var isConnected: Bool { channel?.isActive ?? false }

    /// Connects and waits for the server's hello (at most `timeout` seconds).
    public func connect(timeout: Double = 10) throws {
        let framing = try LinkFraming(side: .client, psk: psk, maxFrameBytes: maxFrameBytes)
        close()
        let handler = ClientHandler(hello: group.next().makePromise())
        let channel: Channel
        do {
            channel = try ClientBootstrap(group: group)
                .connectTimeout(.milliseconds(Int64(timeout * 1000)))
                .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandlers([LinkCodec(framing), handler]) }
                }
                .connect(host: host, port: port).wait()
        } catch {
            handler.hello.fail(error)  // a promise is completed, always
            throw error
        }
        let timer = channel.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) {
            handler.hello.fail(LinkClientError.timedOut("no hello from \(self.host):\(self.port) within \(timeout) s"))
        }
        defer { timer.cancel() }
        do { try handler.hello.futureResult.wait() } catch {
            channel.close(promise: nil)
            throw error
        }
        self.channel = channel
        self.handler = handler
    }

    /// Sends image frame `frame` (docs/wire.md) as request `id` and waits for
    /// its answer (at most `timeout` seconds). Returns the answer and the
    /// monotonic times (ns) just before the send and on the answer's arrival.
    public func request(id: UInt64, frame: [UInt8], timeout: Double = 60) throws -> (answer: ServerAnswer, sent: UInt64, received: UInt64) {
        guard let channel, let handler else { throw LinkClientError.connectionLost("not connected") }
        let promise = channel.eventLoop.makePromise(of: (ServerAnswer, UInt64).self)
        let sent = now()
        channel.eventLoop.execute {
            if handler.wait(id, promise) { channel.writeAndFlush(LinkMessage.request(id: id, frame: frame), promise: nil) }
        }
        let timer = channel.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) {
            handler.pending[id] = nil
            promise.fail(LinkClientError.timedOut("no answer to request \(id) within \(timeout) s"))
        }
        defer { timer.cancel() }
        let (answer, received) = try interruptibleWait(promise.futureResult)
        return (answer, sent, received)
    }

    /// `request(id:frame:timeout:)`, connecting first when not connected; when
    /// the connection is lost (or cannot be made) before the answer, it
    /// reconnects and sends the request again under the same id, waiting 50 ms
    /// doubling to 1 s between tries, for at most `retryFor` seconds. A
    /// refusal is not retried (it names bad input), nor is SIGINT/SIGTERM.
    /// Returns also how many times the request was sent.
    public func request(id: UInt64, frame: [UInt8], retryingFor retryFor: Double, timeout: Double = 60)
        throws -> (answer: ServerAnswer, sent: UInt64, received: UInt64, attempts: Int) {
        let start = Date()
        var attempts = 0, backoff = 0.05
        while true {
            do {
                if !isConnected { try connect() }
                attempts += 1
                let (answer, sent, received) = try request(id: id, frame: frame, timeout: timeout)
                return (answer, sent, received, attempts)
            } catch let stop as Interrupted {
                throw stop
            } catch let e as LinkClientError {
                if case .refused = e { throw e }
                guard Date().timeIntervalSince(start) < retryFor else { throw e }
            } catch {
                // Connecting failed (the server is restarting): wait and try again.
                guard Date().timeIntervalSince(start) < retryFor else {
                    throw LinkClientError.connectionLost("cannot reach \(host):\(port) for \(retryFor) s: \(error)")
                }
            }
            close()
            Thread.sleep(forTimeInterval: backoff)
            backoff = min(1, backoff * 2)
        }
    }

    /// Answers that arrived for no request waiting (a duplicate or a stray): should stay 0.
    public var strayAnswers: Int {
        guard let channel, let handler else { return 0 }
        return (try? channel.eventLoop.submit { handler.strays }.wait()) ?? 0
    }

    /// The future's value; throws `Interrupted` as soon as SIGINT or SIGTERM
    /// has arrived (`Interruption`), instead of waiting on.
    private func interruptibleWait<T>(_ future: EventLoopFuture<T>) throws -> T {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<T, Error>?
        future.whenComplete { r in
            result = r
            done.signal()
        }
        while done.wait(timeout: .now() + 0.1) == .timedOut { try Interruption.check() }
        return try result!.get()
    }

    public func close() {
        try? channel?.close().wait()
        channel = nil
        handler = nil
    }
}

/// Why a request got no answer.
public enum LinkClientError: KindedError, Equatable {
    /// The connection closed or failed before the answer came: try again.
    case connectionLost(String)
    /// The server refused the request and closed the connection: do not retry.
    case refused(String)
    case timedOut(String)

    /// A refusal names bad input; the rest are failures of the link.
    public var kind: ErrorKind {
        if case .refused = self { return .badValue }
        return .failed
    }

    public var description: String {
        switch self {
        case .connectionLost(let s): return "connection lost: \(s)"
        case .refused(let s): return "refused by the server: \(s)"
        case .timedOut(let s): return s
        }
    }
}

final class ClientHandler: ChannelInboundHandler {
    typealias InboundIn = LinkMessage
    typealias OutboundOut = LinkMessage

    let hello: EventLoopPromise<Void>
    var pending: [UInt64: EventLoopPromise<(ServerAnswer, UInt64)>] = [:]
    var strays = 0
    /// Why the connection ended, once it has: a request made after fails at once.
    private var ended: LinkClientError?

    /// Registers `promise` for the answer to `id`; false (and the promise
    /// failed) when the connection has already ended.
    func wait(_ id: UInt64, _ promise: EventLoopPromise<(ServerAnswer, UInt64)>) -> Bool {
        if let ended {
            promise.fail(ended)
            return false
        }
        pending[id] = promise
        return true
    }

    init(hello: EventLoopPromise<Void>) { self.hello = hello }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .hello: hello.succeed(())
        case .answer(let a):
            if let p = pending.removeValue(forKey: a.id) { p.succeed((a, now())) } else { strays += 1 }
        case .refusal(let id, let reason):
            failAll(pending[id] == nil ? .connectionLost("the server closed the connection: \(reason)") : .refused(reason))
            context.close(promise: nil)
        case .request: break  // the codec passes no request to a client
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(.connectionLost("the server closed the connection"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        failAll(error as? LinkError != nil ? .refused("\(error)") : .connectionLost("\(error)"))
        context.close(promise: nil)
    }

    private func failAll(_ error: LinkClientError) {
        if ended == nil { ended = error }
        hello.fail(error)
        let waiting = pending
        pending = [:]
        for p in waiting.values { p.fail(error) }
    }
}
