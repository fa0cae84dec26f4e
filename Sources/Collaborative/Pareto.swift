/// Pareto front of (cost, accuracy) points: a point is on the front when no
/// other point has cost <= and accuracy >= with one of them strict (exact
/// duplicates of a front point are on it too). A flag per point; O(n log n).
public func paretoFront(cost: [Double], accuracy: [Double]) -> [Bool] {
    precondition(cost.count == accuracy.count)
    let order = cost.indices.sorted { cost[$0] < cost[$1] || (cost[$0] == cost[$1] && accuracy[$0] > accuracy[$1]) }
    var front = [Bool](repeating: false, count: cost.count)
    var bestCheaper = -Double.infinity  // best accuracy among strictly cheaper points
    var start = 0
    while start < order.count {
        var end = start
        while end < order.count && cost[order[end]] == cost[order[start]] { end += 1 }
        let top = accuracy[order[start]]  // the group's best (sorted descending within a cost)
        for j in start..<end where accuracy[order[j]] == top && top > bestCheaper { front[order[j]] = true }
        bestCheaper = max(bestCheaper, top)
        start = end
    }
    return front
}
