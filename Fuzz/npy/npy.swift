import FuzzSupport
import Tensors

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let inputPath = writeInput(data, size, extension: "npy")
    _ = try? NPY.read(inputPath)
    _ = try? NPY.readTensor(inputPath)
    return 0
}
