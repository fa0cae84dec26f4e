import Imaging

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
    // A small network size keeps each run fast; the decode is the same.
    let pre = Preprocessing(size: 32)
    guard let image = try? pre.image(decoding: bytes, file: "fuzz-input") else { return 0 }
    _ = pre.networkInput(image)
    return 0
}
