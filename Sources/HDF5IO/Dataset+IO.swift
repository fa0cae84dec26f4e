// Reading and writing datasets: whole, by hyperslab, by rows; resizing.
//
// Types: reads and writes refuse a stored type different from `T` (reading an
// int16 dataset as Float throws `.typeMismatch`), so a cache written with one
// type is never silently reinterpreted. Pass `converting: true` to let HDF5
// convert between numeric types (out-of-range values are clamped, floats are
// truncated toward zero). Strings never convert to or from numbers.

@preconcurrency import CHDF5

extension HDF5Dataset {
    /// Reads the whole dataset.
    public func read<T: HDF5Element>(as type: T.Type = T.self, converting: Bool = false) throws -> HDF5Array<T> {
        try readBlock(nil, converting: converting)
    }

    /// Reads the block of `count[i]` elements from `start[i]` in each dimension.
    /// Throws `.outOfRange` when it does not lie inside the dataset.
    public func read<T: HDF5Element>(as type: T.Type = T.self, start: [Int], count: [Int],
                                     converting: Bool = false) throws -> HDF5Array<T> {
        try readBlock({ _ in Hyperslab(start: start, count: count) }, converting: converting)
    }

    /// Reads rows `rows` of the first dimension (all of the other dimensions):
    /// the result has shape `[rows.count] + shape.dropFirst()`.
    public func read<T: HDF5Element>(as type: T.Type = T.self, rows: Range<Int>,
                                     converting: Bool = false) throws -> HDF5Array<T> {
        try readBlock({ Hyperslab(rows: rows, of: $0) }, converting: converting)
    }

    /// Writes the whole dataset: `values` in C order, exactly as many as its shape holds.
    public func write<T: HDF5Element>(_ values: [T], converting: Bool = false) throws {
        try writeBlock(values, nil, converting: converting)
    }

    /// Writes `values` (C order, shape `count`) into the block at `start`.
    public func write<T: HDF5Element>(_ values: [T], start: [Int], count: [Int], converting: Bool = false) throws {
        try writeBlock(values, { _ in Hyperslab(start: start, count: count) }, converting: converting)
    }

    /// Writes rows `rows` of the first dimension: `values` holds
    /// `rows.count` times the product of the other dimensions.
    public func write<T: HDF5Element>(_ values: [T], rows: Range<Int>, converting: Bool = false) throws {
        try writeBlock(values, { Hyperslab(rows: rows, of: $0) }, converting: converting)
    }

    /// Changes the shape (growing or shrinking) within the maximum shape. Only
    /// chunked datasets (those created with a `maxShape` or chunks) can change.
    /// New elements read as the fill value.
    public func resize(to newShape: [Int]) throws {
        let context = context("cannot resize")
        try withSpace(context) { id, space, context in
            let (shape, maxShape) = try extent(of: space, context)
            try checkResize(to: newShape, shape: shape, maxShape: maxShape, context)
            try context.check(H5Dset_extent(id, newShape.map { hsize_t($0) }),
                              "HDF5 failed to change the extent")
        }
    }

    /// Appends rows along the first dimension, which must be growable:
    /// `values` holds whole rows (a multiple of the product of the other
    /// dimensions). Returns the range of the new rows.
    @discardableResult
    public func append<T: HDF5Element>(_ values: [T], converting: Bool = false) throws -> Range<Int> {
        let context = context("cannot append")
        return try withSpace(context) { id, space, context in
            let (shape, maxShape) = try extent(of: space, context)
            guard !shape.isEmpty else { throw context.error(.shapeMismatch, "dataset is a scalar") }
            let rowSize = shape.dropFirst().reduce(1, *)
            guard rowSize > 0, values.count % rowSize == 0 else {
                throw context.error(.shapeMismatch,
                                    "\(values.count) values are not whole rows of shape \(describe(Array(shape.dropFirst())))")
            }
            let rows = shape[0]..<(shape[0] + values.count / rowSize)
            guard !rows.isEmpty else { return rows }
            var newShape = shape
            newShape[0] = rows.upperBound
            try checkResize(to: newShape, shape: shape, maxShape: maxShape, context)
            try context.check(H5Dset_extent(id, newShape.map { hsize_t($0) }),
                              "HDF5 failed to change the extent")
            try write(values, rows: rows, converting: converting)
            return rows
        }
    }

    // MARK: Internal

    /// Reads the block made by `block` from the current shape (nil: everything).
    private func readBlock<T: HDF5Element>(_ block: (([Int]) -> Hyperslab)?, converting: Bool) throws -> HDF5Array<T> {
        let context = context("cannot read")
        return try withID(context) { id in
            let type = try context.check(H5Dget_type(id), "HDF5 failed to read the datatype")
            defer { _ = H5Tclose(type) }
            try checkCompatible(HDF5ElementType(typeID: type), T.self, converting: converting, what: "dataset", context)
            let fileSpace = try context.check(H5Dget_space(id), "HDF5 failed to read the dataspace")
            defer { _ = H5Sclose(fileSpace) }
            let shape = try extent(of: fileSpace, context).shape
            var resultShape = shape
            var memorySpace = allSpace
            var selectedSpace = allSpace
            if let slab = block?(shape) {
                try slab.check(inside: shape, what: "dataset", context)
                try slab.select(in: fileSpace, context)
                memorySpace = try makeDataspace(shape: slab.count, context)
                selectedSpace = fileSpace
                resultShape = slab.count
            }
            defer { if memorySpace != allSpace { _ = H5Sclose(memorySpace) } }
            let values: [T] = try readElements(count: resultShape.reduce(1, *), storedType: type, context) {
                memoryType, buffer in
                H5Dread(id, memoryType, memorySpace, selectedSpace, defaultPropertyList, buffer)
            }
            return HDF5Array(values: values, shape: resultShape)
        }
    }

    /// Writes `values` into the block made by `block` from the current shape (nil: everything).
    private func writeBlock<T: HDF5Element>(_ values: [T], _ block: (([Int]) -> Hyperslab)?, converting: Bool) throws {
        let context = context("cannot write")
        try withID(context) { id in
            let type = try context.check(H5Dget_type(id), "HDF5 failed to read the datatype")
            defer { _ = H5Tclose(type) }
            try checkCompatible(HDF5ElementType(typeID: type), T.self, converting: converting, what: "dataset", context)
            let fileSpace = try context.check(H5Dget_space(id), "HDF5 failed to read the dataspace")
            defer { _ = H5Sclose(fileSpace) }
            let shape = try extent(of: fileSpace, context).shape
            var targetShape = shape
            var memorySpace = allSpace
            var selectedSpace = allSpace
            let slab = block?(shape)
            if let slab {
                try slab.check(inside: shape, what: "dataset", context)
                targetShape = slab.count
            }
            guard values.count == targetShape.reduce(1, *) else {
                let target = slab.map { $0.label } ?? "shape \(describe(shape))"
                throw context.error(.shapeMismatch, "got \(values.count) values for \(target) of \(targetShape.reduce(1, *))")
            }
            if let slab, !values.isEmpty {
                try slab.select(in: fileSpace, context)
                memorySpace = try makeDataspace(shape: slab.count, context)
                selectedSpace = fileSpace
            }
            defer { if memorySpace != allSpace { _ = H5Sclose(memorySpace) } }
            try writeElements(values, context) { memoryType, buffer in
                H5Dwrite(id, memoryType, memorySpace, selectedSpace, defaultPropertyList, buffer)
            }
        }
    }

    /// Throws unless `newShape` has the dataset's rank and fits `maxShape`.
    private func checkResize(to newShape: [Int], shape: [Int], maxShape: [Int?], _ context: ErrorContext) throws {
        let asked = "dataset has shape \(describe(shape)) and maximum \(describe(maxShape)), asked \(describe(newShape))"
        guard newShape.count == shape.count, !shape.isEmpty else { throw context.error(.shapeMismatch, asked) }
        for (size, max) in zip(newShape, maxShape) where size < 0 || max.map({ size > $0 }) ?? false {
            throw context.error(.outOfRange, asked)
        }
    }
}
