import Collaborative
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let inputPath = writeInput(data, size, extension: "csv")
    if let list = try? ImageList.load(inputPath) {
        _ = list.limited(to: 3)
        _ = list.shard(0, of: 2)
    }
    return 0
}
