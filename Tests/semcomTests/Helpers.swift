import Foundation

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The built `semcom` executable.
var semcomExecutable: URL { Bundle.main.bundleURL.appendingPathComponent("semcom") }

/// Runs the built `semcom` with `arguments` (in `directory`, with `environment`
/// added to this process's); returns (exit status, stdout, stderr).
func runSemcom(_ arguments: [String], input: String? = nil, directory: String? = nil,
               environment: [String: String] = [:]) throws -> (Int32, String, String) {
    let process = Process()
    process.executableURL = semcomExecutable
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let out = Pipe(), err = Pipe(), inPipe = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input == nil ? FileHandle.nullDevice : inPipe
    try process.run()
    if let input {
        inPipe.fileHandleForWriting.write(Data(input.utf8))
        try inPipe.fileHandleForWriting.close()
    }
    // Read both pipes concurrently so that neither fills up and blocks the child.
    final class Box: @unchecked Sendable { var data = Data() }
    let errData = Box()
    let reader = Thread { errData.data = err.fileHandleForReading.readDataToEndOfFile() }
    reader.start()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !reader.isFinished { usleep(1000) }
    return (process.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: errData.data, as: UTF8.self))
}

/// Debian's python3, for which `make test` installs python3-h5py and python3-numpy
/// (a python3 earlier on PATH, e.g. pyenv's, may lack them).
let h5pyPython = "/usr/bin/python3"

/// True when `h5pyPython -c "import h5py, numpy"` works (interop tests skip otherwise).
func h5pyAvailable() throws -> Bool {
    let check = Process()
    check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    check.arguments = [h5pyPython, "-c", "import h5py, numpy"]
    check.standardError = FileHandle.nullDevice
    try check.run()
    check.waitUntilExit()
    return check.terminationStatus == 0
}
