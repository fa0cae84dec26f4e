// Values read from a dataset, with their shape.

/// Values of a dataset or a block of one, in row-major (C) order, with their shape.
///
/// `values.count` is the product of `shape` (1 for a scalar, whose shape is `[]`).
public struct HDF5Array<Element: HDF5Element>: Equatable, Sendable {
    /// The values, last dimension varying fastest (C order, as numpy).
    public var values: [Element]
    /// The size of each dimension.
    public var shape: [Int]

    /// Wraps `values` of `shape`; the counts must agree.
    public init(values: [Element], shape: [Int]) {
        precondition(values.count == shape.reduce(1, *),
                     "\(values.count) values do not fill shape \(describe(shape))")
        self.values = values
        self.shape = shape
    }

    /// The number of values.
    public var count: Int { values.count }

    /// The value at a multi-index (one index per dimension).
    public subscript(_ index: Int...) -> Element {
        precondition(index.count == shape.count, "expected \(shape.count) indices")
        var offset = 0
        for (i, n) in zip(index, shape) {
            precondition(i >= 0 && i < n, "index \(index) out of shape \(describe(shape))")
            offset = offset * n + i
        }
        return values[offset]
    }
}
