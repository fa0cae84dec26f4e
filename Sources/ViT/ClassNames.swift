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

    /// The index of a WordNet id, or nil.
    public func index(ofWnid wnid: String) -> Int? { wnids.firstIndex(of: wnid) }
}

/// The k largest entries of `values` as (index, value), largest first (ties: lower index first).
public func topK(_ values: ArraySlice<Float>, _ k: Int) -> [(index: Int, value: Float)] {
    let base = values.startIndex
    return values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
        .prefix(k).map { ($0 - base, values[$0]) }
}
