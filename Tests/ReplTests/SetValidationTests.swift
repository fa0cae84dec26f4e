import Collaborative
import Foundation
import Imaging
import Wire
import XCTest
@testable import Repl

/// Issue 10 item 3 in the REPL: `set` rejects a bad value at once, with one
/// line naming it, and keeps the old value; `sweep`, `table` and `latency`
/// refuse non-finite, unbounded or out-of-range values before any work.
final class SetValidationTests: XCTestCase {
    /// A cache of 10 demo images; runs edge and server, the bundled edge model (64 patches, 3 heads).
    static let cache = demoCache(runs: ["edge", "server"])

    func session() throws -> Session {
        let s = Session()
        try s.open(Self.cache)
        return s
    }

    /// `line` fails with a message holding each of `words`, and leaves the settings alone.
    func assertRefused(_ s: Session, _ line: String, _ words: [String], file: StaticString = #filePath, line l: UInt = #line) {
        let (setting, uplink) = (s.setting, s.latency.uplinkMbps)
        XCTAssertThrowsError(try s.execute(line), line, file: file, line: l) { e in
            for w in words { XCTAssertTrue("\(e)".contains(w), "\(line): '\(w)' not in \(e)", file: file, line: l) }
            XCTAssertFalse("\(e)".contains("\n"), "one line: \(e)", file: file, line: l)
        }
        XCTAssertEqual(s.setting, setting, "\(line): the old setting is kept", file: file, line: l)
        XCTAssertEqual(s.latency.uplinkMbps, uplink, file: file, line: l)
    }

    func testRunsAndHeadsAreCheckedAgainstTheOpenCache() throws {
        let s = try session()
        assertRefused(s, "set server nosuchrun", ["server 'nosuchrun'", "runs: edge, server"])
        assertRefused(s, "set server servr", ["did you mean 'server'"])
        assertRefused(s, "set edge nosuchrun", ["edge 'nosuchrun'"])
        assertRefused(s, "set encoder nosuchrun", ["encoder 'nosuchrun'"])
        assertRefused(s, "set measure head:9", ["head:9", "3 head(s)"])
        assertRefused(s, "set measure head:-1", ["head:-1"])
        assertRefused(s, "set measure nonsense", ["nonsense"])
        _ = try s.execute("set measure head:2")
        XCTAssertEqual(s.setting.measure, .head(2))
        _ = try s.execute("set server edge")
        XCTAssertEqual(s.setting.server, "edge")
    }

    func testGatesRulesAndRates() throws {
        let s = try session()
        _ = try s.execute("set rule topk:8")
        _ = try s.execute("set gate min:0.5")
        for gate in ["min:-1", "shannon:nan", "min:inf", "margin:1.5", "renyi:0:1", "renyi:2:-1", "min:x"] {
            assertRefused(s, "set gate \(gate)", ["gate '\(gate)'"])
        }
        for rule in ["sum:inf", "sum:1.5", "sum:nan", "threshold:-0.1", "topk:0", "random:0", "topk:1e30", "topk:1000", "random:65"] {
            assertRefused(s, "set rule \(rule)", [rule])
        }
        assertRefused(s, "set rule topk:1000", ["64 patches"])
        assertRefused(s, "set temperature 0", ["temperature"])
        assertRefused(s, "set temperature nan", ["temperature", "nan"])
        assertRefused(s, "set uplink -5", ["uplink", "-5"])
        assertRefused(s, "set uplink inf", ["uplink", "inf"])
        for codec in ["jpeg", "jpeg:0", "jpeg:101", "full-jpeg:50", "png:5"] {
            assertRefused(s, "set codec \(codec)", ["codec '\(codec)'"])
        }
        assertRefused(s, "set codec jpeg:75", ["no sizes for it", "cache build --codec jpeg:75"])  // the cache records none
        _ = try s.execute("set codec raw")
        XCTAssertEqual(s.setting.codec, .raw)
        _ = try s.execute("set codec none")
        XCTAssertNil(s.setting.codec)
        XCTAssertEqual(s.setting.rule, .topK(8))
        _ = try s.execute("set rule topk:64")
        XCTAssertEqual(s.setting.rule, .topK(64))
    }

    func testSweepsTablesAndLatencyRefuseBadValuesBeforeAnyWork() throws {
        let s = try session()
        _ = try s.execute("set rule sum:0.9")
        for range in ["0:inf:1", "0:nan:0.1", "nan", "0:1:1e-300", "0:1e9:1", "0:1.5:0.5"] {
            assertRefused(s, "sweep rule \(range)", [range])
        }
        assertRefused(s, "sweep gate 0:inf:1", ["0:inf:1"])
        assertRefused(s, "sweep gate -1,1", ["-1,1"])
        assertRefused(s, "sweep rule 0:1:1e-300", ["1000000"])
        assertRefused(s, "sweep rule 0:1:0.0001 gate 0:10:0.0001", ["too many points"])
        _ = try s.execute("set rule topk:8")
        assertRefused(s, "sweep rule 0:1e6:1", ["0:1e6:1"])
        assertRefused(s, "sweep rule 0:64:8", ["0:64:8"])
        assertRefused(s, "sweep rule 8:72:8", ["72", "64 patches"])
        assertRefused(s, "table patches 0:inf:1", ["0:inf:1"])
        assertRefused(s, "table patches 0.5,1.5", ["0.5,1.5"])
        assertRefused(s, "table transmit -1", ["-1"])
        assertRefused(s, "latency -5", ["-5"])
        assertRefused(s, "latency 0", ["latency", "0"])
        assertRefused(s, "latency 1,inf", ["inf"])
        assertRefused(s, "latency 0:inf:1", ["0:inf:1"])
        XCTAssertTrue(try s.execute("latency 1,8").contains("uplink_mbps"))
        XCTAssertTrue(try s.execute("sweep rule 8:64:8").contains("topk:64"))
    }

    /// A sweep of more than `confirmAbove` (10^5) grid points asks first; with
    /// no one to ask (a script, a pipe) it is refused, saying how to allow it.
    func testLargeGridsAskFirst() throws {
        let s = try session()
        _ = try s.execute("set rule topk:1")
        assertRefused(s, "sweep rule 1:2:1 gate 0:1:0.00001", ["200,002 grid points, more than 100,000", "set confirm_above 200002", "--yes"])
        // The same rule at a lower limit, so that the grid is quick to run.
        _ = try s.execute("set confirm_above 10")
        let line = "sweep rule 1:2:1 gate 0:1:0.1"  // 2 x 11 points
        var asked: [String] = []
        s.confirm = { asked.append($0); return false }
        assertRefused(s, line, ["sweep: not run"])
        XCTAssertEqual(asked, ["sweep: 22 grid points, more than 10; run it?"])
        s.confirm = { _ in true }
        _ = try s.execute(line)
        XCTAssertEqual(s.last?.rows.count, 22)
        s.confirm = nil
        assertRefused(s, "set confirm_above 0", ["confirm_above '0'"])
        _ = try s.execute("set confirm_above 22")
        _ = try s.execute(line)
        XCTAssertEqual(asked.count, 1, "within the limit nothing is asked")
    }
}
