import Foundation
import Logging
import NIOCore
import NIOPosix

/// A TCP relay that holds every chunk it receives for `delay` seconds before
/// passing it on, in each direction and in order: the propagation delay of a
/// link, where the kernel has no `netem` (`make link-test`). Each accepted
/// connection is joined to a new connection to the target.
public final class DelayRelay: @unchecked Sendable {
    public let delay: Double
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var channel: Channel?
    let logger: Logger

    public init(delay: Double, logger: Logger) {
        self.delay = delay
        self.logger = logger
    }

    /// Listens on `host`:`port` (0: any) and relays to `target`; returns the port bound.
    public func start(host: String, port: Int, targetHost: String, targetPort: Int) throws -> Int {
        let delay = TimeAmount.nanoseconds(Int64(self.delay * 1e9)), group = self.group, logger = self.logger
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { inbound in
                let toTarget = Pipe(delay: delay)
                return inbound.pipeline.addHandler(toTarget).map {
                    ClientBootstrap(group: inbound.eventLoop)
                        .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                        .channelInitializer { outbound in outbound.pipeline.addHandler(Pipe(delay: delay, peer: inbound)) }
                        .connect(host: targetHost, port: targetPort)
                        .whenComplete { result in
                            switch result {
                            case .success(let outbound): toTarget.attach(outbound)
                            case .failure(let error):
                                logger.warning("relay: cannot reach \(targetHost):\(targetPort): \(error)")
                                inbound.close(promise: nil)
                            }
                        }
                }
            }
            .bind(host: host, port: port).wait()
        return channel!.localAddress?.port ?? port
    }

    public func stop() {
        try? channel?.close().wait()
        try? group.syncShutdownGracefully()
    }

    /// One direction: what this channel reads is written to `peer` `delay`
    /// later (what arrives before the peer is connected waits for it); a
    /// close follows the data.
    final class Pipe: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let delay: TimeAmount
        private var peer: Channel?
        private var waiting: [ByteBuffer] = []
        private var closed = false

        init(delay: TimeAmount, peer: Channel? = nil) {
            self.delay = delay
            self.peer = peer
        }

        /// Called on this channel's event loop.
        func attach(_ peer: Channel) {
            self.peer = peer
            for chunk in waiting { forward(chunk, on: peer.eventLoop) }
            waiting = []
            if closed { peer.eventLoop.scheduleTask(in: delay) { peer.close(promise: nil) } }
        }

        private func forward(_ chunk: ByteBuffer, on loop: EventLoop) {
            guard let peer else { return waiting.append(chunk) }
            loop.scheduleTask(in: delay) { peer.writeAndFlush(chunk, promise: nil) }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            forward(unwrapInboundIn(data), on: context.eventLoop)
        }

        func channelInactive(context: ChannelHandlerContext) {
            closed = true
            guard let peer else { return }
            context.eventLoop.scheduleTask(in: delay) { peer.close(promise: nil) }
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
    }
}
