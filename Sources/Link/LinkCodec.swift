import NIOCore

/// Bytes to `LinkMessage`s and back on one connection (`LinkFraming`): a
/// frame longer than the limit is refused from its length field, before its
/// bytes are buffered. After the first bad frame the connection reads nothing
/// more; the error goes up the pipeline (`errorCaught`), whose handler closes.
final class LinkCodec: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = LinkMessage
    typealias OutboundIn = LinkMessage
    typealias OutboundOut = ByteBuffer

    private var framing: LinkFraming
    private var buffer: ByteBuffer?
    private var failed = false

    init(_ framing: LinkFraming) { self.framing = framing }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var incoming = unwrapInboundIn(data)
        if buffer == nil { buffer = incoming } else { buffer!.writeBuffer(&incoming) }
        while let b = buffer, let length = b.getInteger(at: b.readerIndex, endianness: .little, as: UInt32.self) {
            do { try framing.check(length: length) } catch { return fail(context, error) }
            guard b.readableBytes >= 4 + Int(length) else { break }
            buffer!.moveReaderIndex(forwardBy: 4)
            let bytes = buffer!.readBytes(length: Int(length))!
            let message: LinkMessage
            do { message = try framing.open(bytes) } catch { return fail(context, error) }
            context.fireChannelRead(wrapInboundOut(message))
            if failed { return }
        }
        if buffer?.readableBytes == 0 { buffer = nil } else { buffer?.discardReadBytes() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let b = buffer, b.readableBytes > 0, !failed {
            context.fireErrorCaught(LinkError("connection closed inside a frame (\(b.readableBytes) bytes of it received)"))
        }
        context.fireChannelInactive()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let bytes = framing.seal(unwrapOutboundIn(data))
        context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: promise)
    }

    private func fail(_ context: ChannelHandlerContext, _ error: LinkError) {
        failed = true
        buffer = nil
        context.fireErrorCaught(error)
    }
}
