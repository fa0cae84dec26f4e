// (a) A new selection rule, evaluated and swept against the built-in ones on a cache.
//
//     swift run --package-path Examples new-rule CACHE.h5 OUT.csv
//
// The paper's attention-sum rule keeps the longest prefix of patches whose
// attention mass stays at or below delta. This rule keeps the shortest prefix
// whose mass reaches delta: never less mass than asked for, one patch more.
import Foundation
import SemComKit

/// Keeps the fewest top patches whose scores sum to at least `delta`.
struct MassAtLeast: SelectionRuleProtocol {
    var delta: Double

    func keep(sorted: ArraySlice<Float>) -> Int {
        var k = 0, mass = 0.0
        for s in sorted where mass < delta {
            mass += Double(s)
            k += 1
        }
        return k
    }

    var parameter: Double { delta }
    func with(parameter x: Double) -> MassAtLeast { MassAtLeast(delta: x) }
    func checked(parameter x: Double) throws -> MassAtLeast {
        guard (0...1).contains(x) else { throw RuleError("mass:\(x): expected a delta in [0, 1]") }
        return with(parameter: x)
    }
    var description: String { "mass:\(delta)" }
}

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: new-rule CACHE.h5 OUT.csv\n".utf8))
    exit(2)
}
do {
    let evaluator = Evaluator(cache: try Cache(path: arguments[1]))
    evaluator.threads = ProcessInfo.processInfo.activeProcessorCount
    let deltas = [0.7, 0.8, 0.9, 0.97], etas = [0.0, 0.8, 1.6]
    // One sweep per rule over the same grid; the memo is shared, so the second
    // sweep computes only the server answers the first did not need.
    var points: [(setting: Setting, evaluation: Evaluation)] = []
    for rule in [SelectionRule.sum(0.97), .custom(MassAtLeast(delta: 0.97))] {
        let setting = Setting(edge: "edge", server: "server", rule: rule, gate: .minEntropy(0.8))
        points += try evaluator.sweepPoints(setting, ruleParameters: deltas, gateThresholds: etas)
    }
    // One table, so its Pareto column says which rule's points are on the joint front.
    let table = evaluationTable(points, pareto: true)
    try AtomicWrite.write(table.csv, to: arguments[2])
    for (setting, e) in points where setting.gate.thresholdValue == 0.8 {
        print("\(setting.rule)\taccuracy \(e.accuracy)\tcommunication \(e.commCost)")
    }
} catch {
    FileHandle.standardError.write(Data("new-rule: \(error)\n".utf8))
    exit(1)
}
