import Foundation

/// One temporary file per process, rewritten for every input.
let inputPath: String = {
    let dir = NSTemporaryDirectory() + "semcom-fuzz-\(getpid())"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir + "/input.csv"
}()

func writeInput(_ data: UnsafePointer<UInt8>, _ size: Int) {
    let d = Data(bytes: data, count: size)
    try! d.write(to: URL(fileURLWithPath: inputPath))
}

import Collaborative

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    writeInput(data, size)
    if let list = try? ImageList.load(inputPath) {
        _ = list.limited(to: 3)
        _ = list.shard(0, of: 2)
    }
    return 0
}
