import FuzzSupport
import Repl

// The session's output folder is the scratch folder (commands that write files
// write there); the process keeps its working directory, so relative corpus
// paths still read. With no cache open no command has a result to write anyway.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let session = Session()
    session.outputDirectory = scratchFolder
    for line in text.split(separator: "\n", omittingEmptySubsequences: false).prefix(16) {
        _ = try? session.execute(String(line))
    }
    return 0
}
