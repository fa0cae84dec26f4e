import FuzzSupport
import Tensors

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let inputPath = writeInput(data, size, extension: "safetensors")
    guard let file = try? SafeTensors(path: inputPath) else { return 0 }
    for name in file.entries.keys { _ = file.tensor(name) }
    return 0
}
