import FuzzSupport
import Wire

/// A wire frame from the network: parsed, and its payload decoded, as a server does.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = smallImageLimit
    if let frame = try? WireImage(decoding: Array(UnsafeBufferPointer(start: data, count: size))) {
        _ = try? PatchCoding.receivedCrop(frame)
    }
    return 0
}
