import Foundation
import XCTest

/// Tab completion on a real terminal (issue 12 item 9), in the tmux pane of
/// `ReplInterruptTests`: libedit completes the word before the cursor from
/// the whole line, with no space after a match that goes on (`sum:`, a
/// folder's `/`) and a space after one that is whole.
extension ReplInterruptTests {
    func testTabCompletesInContext() throws {
        try FileManager.default.createDirectory(at: tmp.appendingPathComponent("sub"), withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: tmp.appendingPathComponent("sub/c.h5").path, contents: Data()))
        let pane = try startPane()
        try pane.keys("set ru")
        try pane.key("Tab")
        try pane.keys("s")
        try pane.key("Tab")
        try pane.keys("0.9")
        try pane.wait("set rule completed, then sum: without a space") { $0.last == "semcom> set rule sum:0.9" }
        try pane.keys("\r")
        try pane.keys("open \(tmp.path)/su")
        try pane.key("Tab")
        try pane.key("Tab")
        try pane.keys("|")
        try pane.wait("the folder, then its .h5 file and a space") { $0.last == "semcom> open \(tmp.path)/sub/c.h5 |" }
        try pane.key("C-c")
        try pane.keys("show settings\r")
        try pane.wait("the settings") { $0.last == "semcom>" && $0.contains { $0.hasPrefix("out ") } }
        let screen = try pane.screen()
        XCTAssertTrue(screen.contains { $0.hasPrefix("rule ") && $0.hasSuffix(" sum:0.9") }, screen.joined(separator: "\n"))
        try pane.keys("quit\r")
        XCTAssertEqual(try pane.waitForExit(), 0)
    }
}
