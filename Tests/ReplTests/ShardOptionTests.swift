import XCTest
@testable import Repl

/// `--shard`: i/n, and `auto` / `auto/n` from a job array's environment
/// (Slurm, Kubernetes Indexed Jobs, AWS Batch), saying where it was found.
final class ShardOptionTests: XCTestCase {
    func place(_ text: String, _ env: [String: String] = [:]) throws -> [Int] {
        let s = try Limits.shard(text, environment: env)
        return [s.index, s.count]
    }

    func assertRefused(_ text: String, _ env: [String: String], _ words: String, line: UInt = #line) {
        XCTAssertThrowsError(try Limits.shard(text, environment: env), line: line) {
            XCTAssertTrue("\($0)".contains(words), "\($0)", line: line)
        }
    }

    func testExplicitAndFromTheEnvironment() throws {
        XCTAssertEqual(try place("2/5"), [2, 5])
        XCTAssertNil(try Limits.shard("2/5", environment: [:]).found)
        XCTAssertEqual(try place("auto", ["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "3"]), [2, 3])
        XCTAssertEqual(try Limits.shard("auto", environment: ["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "3"]).found,
                       "Slurm: SLURM_ARRAY_TASK_ID=2, SLURM_ARRAY_TASK_COUNT=3")
        // --array=1-3 and --array=0-10:5: the place among the tasks, not the task id.
        XCTAssertEqual(try place("auto", ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "3"]), [2, 3])
        XCTAssertEqual(try place("auto", ["SLURM_ARRAY_TASK_ID": "10", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "10",
                                          "SLURM_ARRAY_TASK_STEP": "5"]), [2, 3])
        XCTAssertEqual(try place("auto/3", ["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "3"]), [1, 3])
        XCTAssertEqual(try place("auto/4", ["JOB_COMPLETION_INDEX": "1"]), [1, 4])
        XCTAssertEqual(try Limits.shard("auto/4", environment: ["AWS_BATCH_JOB_ARRAY_INDEX": "3"]).found, "AWS Batch: AWS_BATCH_JOB_ARRAY_INDEX=3")
    }

    func testRefusals() {
        assertRefused("auto", [:], "no array index in the environment")
        assertRefused("auto", ["JOB_COMPLETION_INDEX": "1"], "use --shard auto/N")
        assertRefused("auto/4", ["AWS_BATCH_JOB_ARRAY_INDEX": "4"], "shard 4 of 4 (AWS Batch: AWS_BATCH_JOB_ARRAY_INDEX=4)")
        assertRefused("auto/2", ["SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "3"], "the Slurm array has 3 tasks")
        assertRefused("auto", ["SLURM_ARRAY_TASK_ID": "0"], "not the array's size")
        for text in ["auto/0", "x/3", "1/", "auto/x", "1/2/3", "2"] {
            assertRefused(text, [:], "expected i/n")
        }
        for text in ["3/3", "-1/3"] {
            assertRefused(text, [:], "expected 0 <= i < n")
        }
    }
}
