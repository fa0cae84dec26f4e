import Foundation
import Imaging
import Logging
import NIOCore
import NIOPosix
import Safety
import ViT
import Wire

/// How a `LinkServer` admits and batches requests.
public struct ServerOptions: Sendable {
    /// The pre-shared key (at least 16 bytes) every frame is authenticated with.
    public var psk: [UInt8]
    /// The largest frame accepted, in bytes; a longer one closes its connection unread.
    public var maxFrameBytes = 4 << 20
    /// Requests of one connection in the server at once; while a connection
    /// has this many, the server stops reading from it (TCP backpressure).
    public var window = 8
    /// Connections at once; more are closed on arrival. Memory is bounded by
    /// about maxClients x (window + 1) x maxFrameBytes.
    public var maxClients = 64
    /// Seconds the first waiting request waits for others to batch with (the latency budget).
    public var batchWait = 0.002
    /// Images per forward pass.
    public var maxBatch = 16
    /// Threads for the model's matrix products.
    public var threads = 1
    /// Seconds a connection may stay silent before it is closed.
    public var idleTimeout = 300.0

    public init(psk: [UInt8]) { self.psk = psk }
}

/// The server of Algorithm 1 on a real link: accepts edges over TCP,
/// answers each request (one image's kept patches, docs/wire.md) with the
/// model's classes on those patches. See docs/wire.md, "The link".
public final class LinkServer: @unchecked Sendable {
    public let options: ServerOptions
    let logger: Logger
    let grid: PatchGrid
    let batcher: Batcher
    private let group: MultiThreadedEventLoopGroup
    private var channel: Channel?
    private let lock = NSLock()
    private var connections: [ObjectIdentifier: ServeHandler] = [:]
    private var draining = false
    private let allClosed = DispatchGroup()

    /// The server of `model` (preprocessing: the normalisation of the crops it receives).
    public init(model: any ImageClassifier, preprocessing: Preprocessing, options: ServerOptions, logger: Logger) {
        self.options = options
        self.logger = logger
        let c = model.config
        grid = PatchGrid(patchSize: c.patchSize, columns: c.imageSize / c.patchSize, rows: c.imageSize / c.patchSize)
        batcher = Batcher(model: model, preprocessing: preprocessing, maxBatch: options.maxBatch, wait: options.batchWait, threads: options.threads)
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    /// Listens on `host`:`port` (0: any free port); returns the port bound.
    public func start(host: String, port: Int) throws -> Int {
        // Checked once here; every connection starts from a copy of this fresh framing.
        let framing = try LinkFraming(side: .server, psk: options.psk, maxFrameBytes: options.maxFrameBytes)
        batcher.start()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 64)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try admit(channel, framing: framing) }
            }
        do {
            channel = try bootstrap.bind(host: host, port: port).wait()
        } catch {
            batcher.stop()
            try? group.syncShutdownGracefully()
            throw LinkSetupError("cannot listen on \(host):\(port): \(error)")
        }
        let bound = channel!.localAddress?.port ?? port
        logger.info("listening on \(host):\(bound)", metadata: ["grid": "\(grid.columns)x\(grid.rows) patches of \(grid.patchSize) px"])
        return bound
    }

    private func admit(_ channel: Channel, framing: LinkFraming) throws {
        let peer = channel.remoteAddress.map { "\($0)" } ?? "?"
        let handler = ServeHandler(server: self, channel: channel, peer: peer), id = ObjectIdentifier(handler)
        // Checked and counted in one step, so that a drain sees every connection it lets in.
        lock.lock()
        let (wasDraining, count) = (draining, connections.count)
        let admitted = !wasDraining && count < options.maxClients
        if admitted {
            connections[id] = handler
            allClosed.enter()
        }
        lock.unlock()
        guard admitted else {
            logger.warning("\(peer): refused, \(wasDraining ? "shutting down" : "\(count) connections already (--max-clients)")")
            channel.close(promise: nil)
            return
        }
        channel.closeFuture.whenComplete { [self] _ in
            lock.lock()
            connections[id] = nil
            lock.unlock()
            allClosed.leave()
        }
        try channel.pipeline.syncOperations.addHandlers([
            IdleStateHandler(readTimeout: .milliseconds(Int64(options.idleTimeout * 1000))),
            LinkCodec(framing),
            handler,
        ])
    }

    /// Stops accepting, answers every request already received (reading no
    /// more), closes each connection once its answers are written, and stops.
    /// Waits at most `timeout` seconds for the answers.
    public func drain(timeout: Double = 30) {
        lock.lock()
        draining = true
        let open = Array(connections.values)
        lock.unlock()
        logger.info("draining: \(open.count) connections")
        try? channel?.close().wait()
        for handler in open { handler.beginDrain() }
        if allClosed.wait(timeout: .now() + timeout) == .timedOut {
            logger.warning("drain: connections still open after \(timeout) s; closing them")
            for handler in open { handler.channel.close(promise: nil) }
            _ = allClosed.wait(timeout: .now() + 5)
        }
        batcher.stop()
        try? group.syncShutdownGracefully()
        logger.info("stopped")
    }
}

/// The server cannot start (the address is taken, not valid...).
public struct LinkSetupError: KindedError {
    public let description: String
    public var kind: ErrorKind { .failed }
    public init(_ d: String) { description = d }
}

/// One connection on the server: hello, then requests to the batcher and
/// answers back; reads pause while `window` requests are in the server.
final class ServeHandler: ChannelDuplexHandler {
    typealias InboundIn = LinkMessage
    typealias OutboundIn = LinkMessage
    typealias OutboundOut = LinkMessage

    unowned let server: LinkServer
    let channel: Channel
    let peer: String
    private var inFlight = 0
    private var readPending = false
    private var draining = false
    private var closing = false

    init(server: LinkServer, channel: Channel, peer: String) {
        self.server = server
        self.channel = channel
        self.peer = peer
    }

    func channelActive(context: ChannelHandlerContext) {
        var rng = SystemRandomNumberGenerator()  // getrandom(2)
        let nonce = (0..<LinkFraming.nonceBytes).map { _ in UInt8.random(in: 0...255, using: &rng) }
        context.writeAndFlush(wrapOutboundOut(.hello(version: LinkFraming.version, nonce: nonce)), promise: nil)
        server.logger.debug("\(peer): connected")
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        server.logger.debug("\(peer): disconnected")
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing, case .request(let id, let bytes) = unwrapInboundIn(data) else { return }
        let frame: WireImage
        do { frame = try WireImage(decoding: bytes) } catch { return refuse(context.channel, id: id, "request \(id): \(error)") }
        guard frame.grid == server.grid else {
            return refuse(context.channel, id: id, "request \(id): a grid of \(frame.grid.columns)x\(frame.grid.rows) patches of \(frame.grid.patchSize) px; this server's model takes \(server.grid.columns)x\(server.grid.rows) of \(server.grid.patchSize) px")
        }
        inFlight += 1
        let channel = context.channel, loop = context.eventLoop
        server.batcher.submit(Batcher.Job(id: id, frame: frame, arrived: now()) { result in
            loop.execute { self.finished(channel, id: id, result) }
        })
    }

    private func finished(_ channel: Channel, id: UInt64, _ result: Result<ServerAnswer, Error>) {
        inFlight -= 1
        guard !closing else { return }
        switch result {
        case .success(let answer): channel.writeAndFlush(LinkMessage.answer(answer), promise: nil)
        case .failure(let error): return refuse(channel, id: id, "\(error)")
        }
        if draining && inFlight == 0 {
            closing = true
            channel.close(promise: nil)
        } else if readPending && inFlight < server.options.window && !draining {
            readPending = false
            channel.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if inFlight >= server.options.window || draining {
            readPending = true
            return
        }
        context.read()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? IdleStateHandler.IdleStateEvent, e == .read, inFlight == 0 {
            server.logger.info("\(peer): idle for \(server.options.idleTimeout) s; closed")
            closing = true
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let e = error as? LinkError, e.authenticated { return refuse(context.channel, id: 0, e.reason) }
        // Nothing for a peer that has not shown the key, nor after a socket error.
        guard !closing else { return }
        closing = true
        server.logger.warning("\(peer): \((error as? LinkError)?.reason ?? "\(error)"); closed")
        context.close(promise: nil)
    }

    /// Logs `reason`, tells the client, and closes the connection.
    private func refuse(_ channel: Channel, id: UInt64, _ reason: String) {
        guard !closing else { return }
        closing = true
        server.logger.warning("\(peer): \(reason); closed")
        channel.writeAndFlush(LinkMessage.refusal(id: id, reason: reason)).whenComplete { _ in channel.close(promise: nil) }
    }

    /// From any thread: no more reads; close once the answers in hand are written.
    func beginDrain() {
        channel.eventLoop.execute { [self] in
            draining = true
            if inFlight == 0 && !closing {
                closing = true
                channel.close(promise: nil)
            }
        }
    }
}
