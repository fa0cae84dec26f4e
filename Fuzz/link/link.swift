import FuzzSupport
import Link
import Wire

/// Link frames from the network (docs/wire.md, "The link"). The first byte
/// chooses: 0, a frame body past its tag (the next byte its type), parsed as
/// a client and a server receive it, before and after the hello, a request's
/// image frame then decoded as the server does; 1, the bytes after a length
/// field, opened by a server whose connection key is known (nonce 0...15,
/// key 32 x 0x5A: the seed frame-request verifies) and by a client awaiting
/// its hello.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = smallImageLimit
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard bytes.count >= 2 else { return 0 }
    let psk = [UInt8](repeating: 0x5A, count: 32)
    var messages: [LinkMessage] = []
    if bytes[0] == 0 {
        for side in [LinkFraming.Side.client, .server] {
            for helloDone in [false, true] {
                if let m = try? LinkFraming.message(type: bytes[1], body: Array(bytes[2...]), receivedBy: side, helloDone: helloDone) { messages.append(m) }
            }
        }
    } else {
        let frame = Array(bytes[1...])
        var server = try! LinkFraming(side: .server, psk: psk, maxFrameBytes: 1 << 20)
        _ = server.seal(.hello(version: LinkFraming.version, nonce: (0..<16).map(UInt8.init)))
        if let m = try? server.open(frame) { messages.append(m) }
        var client = try! LinkFraming(side: .client, psk: psk, maxFrameBytes: 1 << 20)
        if let m = try? client.open(frame) { messages.append(m) }
    }
    for case .request(_, let frame) in messages {
        if let image = try? WireImage(decoding: frame) { _ = try? PatchCoding.receivedCrop(image) }
    }
    return 0
}
