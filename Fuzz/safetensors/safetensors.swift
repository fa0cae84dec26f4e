import Foundation

/// One temporary file per process, rewritten for every input.
let inputPath: String = {
    let dir = NSTemporaryDirectory() + "semcom-fuzz-\(getpid())"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir + "/input.safetensors"
}()

func writeInput(_ data: UnsafePointer<UInt8>, _ size: Int) {
    let d = Data(bytes: data, count: size)
    try! d.write(to: URL(fileURLWithPath: inputPath))
}

import Tensors

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    writeInput(data, size)
    guard let file = try? SafeTensors(path: inputPath) else { return 0 }
    for name in file.entries.keys { _ = file.tensor(name) }
    return 0
}
