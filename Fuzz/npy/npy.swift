import Foundation

/// One temporary file per process, rewritten for every input.
let inputPath: String = {
    let dir = NSTemporaryDirectory() + "semcom-fuzz-\(getpid())"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir + "/input.npy"
}()

func writeInput(_ data: UnsafePointer<UInt8>, _ size: Int) {
    let d = Data(bytes: data, count: size)
    try! d.write(to: URL(fileURLWithPath: inputPath))
}

import Tensors

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    writeInput(data, size)
    _ = try? NPY.read(inputPath)
    _ = try? NPY.readTensor(inputPath)
    return 0
}
