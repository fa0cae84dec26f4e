// What the libFuzzer harnesses share: a scratch folder per process, the
// input written to a file there (for parsers that read files), and the image
// pipeline the JPEG and PNG harnesses drive (they differ in their corpora).

import Foundation
import Imaging

/// This process's scratch folder (`$TMPDIR/semcom-fuzz-PID`), made on first use.
public let scratchFolder: String = {
    let dir = NSTemporaryDirectory() + "semcom-fuzz-\(getpid())"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}()

/// Writes the fuzz input to `scratchFolder/input.EXT`, rewritten for every input; returns its path.
public func writeInput(_ data: UnsafePointer<UInt8>, _ size: Int, extension ext: String) -> String {
    let path = scratchFolder + "/input." + ext
    try! Data(bytes: data, count: size).write(to: URL(fileURLWithPath: path))
    return path
}

/// Decodes the input as an image and preprocesses it; a small network size
/// keeps each run fast (the decode is the same).
public func decodeAndPreprocess(_ data: UnsafePointer<UInt8>, _ size: Int) {
    let bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
    let pre = Preprocessing(size: 32)
    guard let image = try? pre.image(decoding: bytes, file: "fuzz-input") else { return }
    _ = pre.networkInput(image)
}

/// Lowers `ImageLimits.maxPixels` to 2^20 pixels for the harnesses that decode
/// network frames (evaluate it once, before the first input). A frame may
/// declare any crop up to the limit, and decoding garbage at PIL's 89 M pixels
/// under ASan takes seconds and gigabytes an input; the checks are the same at
/// any limit.
public let smallImageLimit: Void = { ImageLimits.maxPixels = 1 << 20 }()
