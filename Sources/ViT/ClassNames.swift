/// Class index -> (WordNet id, readable name) for a classifier's outputs.
public struct ClassNames: Sendable {
    public let wnids: [String]
    public let names: [String]

    /// ImageNet-1k, shipped with the package (index order = timm's and torchvision's).
    public static let imageNet = ClassNames(wnids: imageNetTable.map(\.wnid), names: imageNetTable.map(\.name))

    /// Names for a head with `count` classes: ImageNet's when it has 1000,
    /// otherwise `class 0`, `class 1`, ...
    public static func forClassCount(_ count: Int) -> ClassNames {
        if count == imageNet.names.count { return imageNet }
        let names = (0..<count).map { "class \($0)" }
        return ClassNames(wnids: names, names: names)
    }

    /// Class k in words: `n01440764 tench` for ImageNet, `class 3` for a head
    /// without names (whose WordNet id is its name: said once).
    public func label(_ k: Int) -> String { wnids[k] == names[k] ? names[k] : "\(wnids[k]) \(names[k])" }

    /// The index of a WordNet id, or nil.
    public func index(ofWnid wnid: String) -> Int? { wnids.firstIndex(of: wnid) }
}

/// The k largest entries of `values` as (index, value), largest first (ties:
/// lower index first), in one pass keeping the best k: O(C k), no sort of all C.
public func topK(_ values: ArraySlice<Float>, _ k: Int) -> [(index: Int, value: Float)] {
    let k = min(k, values.count), base = values.startIndex
    guard k > 0 else { return [] }
    var best: [(index: Int, value: Float)] = []
    best.reserveCapacity(k + 1)
    for i in values.indices {
        let v = values[i]
        // Strictly larger only: an equal value found later has the higher index and stays behind.
        guard best.count < k || v > best[k - 1].value else { continue }
        var j = best.count
        while j > 0 && v > best[j - 1].value { j -= 1 }
        best.insert((i - base, v), at: j)
        if best.count > k { best.removeLast() }
    }
    return best
}
