// Temp-file helper: each test gets its own directory, removed afterwards.

import Foundation
import XCTest

/// A test case with a fresh temporary directory per test.
class HDF5TestCase: XCTestCase {
    private(set) var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("HDF5IOTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    /// A path inside this test's directory (the file is not created).
    func temporaryPath(_ name: String = "test.h5") -> String {
        directory.appendingPathComponent(name).path
    }
}
