// (b) A new uncertainty measure, used as a gate.
//
//     swift run --package-path Examples new-gate CACHE.h5 OUT.csv
//
// The Gini impurity 1 - sum p_i^2 of the edge's softmax: 0 for a one-hot
// prediction, 1 - 1/C for a uniform one. Images whose impurity is at or above
// the threshold go to the server.
import Foundation
import SemComKit

struct GiniImpurity: UncertaintyMeasureProtocol {
    func value(_ p: [Double]) -> Double { 1 - p.reduce(0) { $0 + $1 * $1 } }
    func accepts(threshold t: Double) -> Bool { (0...1).contains(t) }
    var thresholdRange: String { "an impurity in [0, 1]" }
    var description: String { "gini" }
}

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: new-gate CACHE.h5 OUT.csv\n".utf8))
    exit(2)
}
do {
    let evaluator = Evaluator(cache: try Cache(path: arguments[1]))
    evaluator.threads = ProcessInfo.processInfo.activeProcessorCount
    // The paper's gate and the new one, each swept over its own thresholds,
    // with the paper's attention-sum rule.
    let gini = Setting(edge: "edge", server: "server", rule: .sum(0.97), gate: .threshold(.custom(GiniImpurity()), 0.3))
    let paper = Setting(edge: "edge", server: "server", rule: .sum(0.97), gate: .minEntropy(0.8))
    let points = try evaluator.sweepPoints(paper, ruleParameters: nil, gateThresholds: [0, 0.4, 0.8, 1.2, 1.6, 2.4])
        + evaluator.sweepPoints(gini, ruleParameters: nil, gateThresholds: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    let table = evaluationTable(points, pareto: true)
    try AtomicWrite.write(table.csv, to: arguments[2])
    for (setting, e) in points {
        print("\(setting.gate)\tsent \(e.sentFraction)\taccuracy \(e.accuracy)\tcommunication \(e.commCost)")
    }
} catch {
    FileHandle.standardError.write(Data("new-gate: \(error)\n".utf8))
    exit(1)
}
