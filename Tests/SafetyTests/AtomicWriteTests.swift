import Foundation
import Safety
import XCTest

final class AtomicWriteTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testWriteReplacesWholeAndLeavesNoTemporary() throws {
        let path = dir.appendingPathComponent("sub/out.csv").path
        try AtomicWrite.write("first\n", to: path)
        try AtomicWrite.write("second\n", to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "second\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("sub").path), ["out.csv"])
    }

    func testSymbolicLinkIsWrittenThrough() throws {
        let target = dir.appendingPathComponent("target.txt").path
        let link = dir.appendingPathComponent("link.txt").path
        try AtomicWrite.write("old", to: target)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "target.txt")
        try AtomicWrite.write("new", to: link)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), "target.txt")
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "new")
    }

    func testCopyAndIdentity() throws {
        let a = dir.appendingPathComponent("a").path, b = dir.appendingPathComponent("b").path
        let bytes = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 * 7) })
        try AtomicWrite.write(bytes, to: a)
        try AtomicWrite.copy(a, to: b)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: b)), bytes)
        XCTAssertThrowsError(try AtomicWrite.copy(a, to: b))  // never over an existing file
        XCTAssertNotEqual(FileIdentity(a), FileIdentity(b))
        XCTAssertEqual(FileIdentity(a), FileIdentity(dir.appendingPathComponent("./a").path))
        XCTAssertNil(FileIdentity(dir.appendingPathComponent("none").path))
    }

    func testInterruptionFlag() {
        Interruption.reset()
        XCTAssertNoThrow(try Interruption.check())
        Interruption.received(SIGTERM)
        XCTAssertThrowsError(try Interruption.check()) { XCTAssertEqual(($0 as? Interrupted)?.signal, SIGTERM) }
        Interruption.reset()
        XCTAssertNil(Interruption.pending)
    }
}
