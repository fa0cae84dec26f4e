// Dataspaces: shapes, maximum shapes and hyperslab selections.

@preconcurrency import CHDF5

/// The current and maximum shape of a dataspace; `[]` for a scalar, `[0]` for
/// an empty (null) dataspace. A nil maximum is unlimited. Call under the lock.
func extent(of space: hid_t, _ context: ErrorContext) throws -> (shape: [Int], maxShape: [Int?]) {
    let rank = Int(try context.check(H5Sget_simple_extent_ndims(space), "cannot read the dataspace"))
    if rank == 0 {
        return H5Sget_simple_extent_type(space) == H5S_NULL ? ([0], [0]) : ([], [])
    }
    var dims = [hsize_t](repeating: 0, count: rank)
    var maxDims = [hsize_t](repeating: 0, count: rank)
    try context.check(H5Sget_simple_extent_dims(space, &dims, &maxDims), "cannot read the dataspace")
    return (dims.map { Int($0) }, maxDims.map { $0 == unlimitedDimension ? nil : Int($0) })
}

/// A new dataspace of `shape` (scalar when empty) growing up to `maxShape`
/// (nil entries unlimited; nil for fixed size). The caller closes it.
func makeDataspace(shape: [Int], maxShape: [Int?]? = nil, _ context: ErrorContext) throws -> hid_t {
    if shape.isEmpty {
        return try context.check(H5Screate(H5S_SCALAR), "cannot create a scalar dataspace")
    }
    let dims = shape.map { hsize_t($0) }
    guard let maxShape else {
        return try context.check(H5Screate_simple(Int32(dims.count), dims, nil), "cannot create a dataspace")
    }
    let maxDims = maxShape.map { $0.map { hsize_t($0) } ?? unlimitedDimension }
    return try context.check(H5Screate_simple(Int32(dims.count), dims, maxDims), "cannot create a dataspace")
}

/// A block of a dataset: `count[i]` elements from `start[i]` in each dimension.
struct Hyperslab {
    var start: [Int]
    var count: [Int]
    /// How the caller asked for it, for messages: "rows 12..<14" or "start [0, 4] count [2, 3]".
    var label: String

    init(start: [Int], count: [Int]) {
        self.start = start
        self.count = count
        self.label = "start \(describe(start)) count \(describe(count))"
    }

    /// Rows `rows` of the first dimension, every element of the others.
    init(rows: Range<Int>, of shape: [Int]) {
        self.start = [rows.lowerBound] + Array(repeating: 0, count: max(shape.count - 1, 0))
        self.count = [rows.count] + shape.dropFirst()
        self.label = "rows \(rows.lowerBound)..<\(rows.upperBound)"
    }

    var elementCount: Int { count.reduce(1, *) }

    /// Throws unless the block lies inside `shape`.
    func check(inside shape: [Int], what: String, _ context: ErrorContext) throws {
        let asked = "\(what) has shape \(describe(shape)), asked \(label)"
        guard !shape.isEmpty else { throw context.error(.shapeMismatch, "\(what) is a scalar, asked \(label)") }
        guard start.count == shape.count, count.count == shape.count else {
            throw context.error(.shapeMismatch, asked)
        }
        for i in shape.indices where start[i] < 0 || count[i] < 0 || start[i] + count[i] > shape[i] {
            throw context.error(.outOfRange, asked)
        }
    }

    /// Selects this block in `space` (replacing any selection).
    func select(in space: hid_t, _ context: ErrorContext) throws {
        let starts = start.map { hsize_t($0) }
        let counts = count.map { hsize_t($0) }
        try context.check(H5Sselect_hyperslab(space, H5S_SELECT_SET, starts, nil, counts, nil),
                          "cannot select \(label)")
    }
}
