// Datasets: the type, its shape and storage properties.

@preconcurrency import CHDF5

/// A dataset: an n-dimensional array of one element type, stored in a file.
///
/// Create one with `HDF5Group.createDataset`, open one with
/// `HDF5Group.openDataset`; read and write it whole or by hyperslab (see
/// `Dataset+IO.swift`). Shapes are row-major (C order), as in numpy; a
/// scalar dataset has shape `[]`.
public final class HDF5Dataset: HDF5Object, @unchecked Sendable {
    /// The current size of each dimension.
    public var shape: [Int] {
        get throws { try withSpace(context("cannot read shape")) { _, space, context in try extent(of: space, context).shape } }
    }

    /// The maximum size of each dimension; nil means unlimited.
    public var maxShape: [Int?] {
        get throws { try withSpace(context("cannot read shape")) { _, space, context in try extent(of: space, context).maxShape } }
    }

    /// The stored element type.
    public var elementType: HDF5ElementType {
        get throws {
            let context = context("cannot read type")
            return try withID(context) { id in
                let type = try context.check(H5Dget_type(id), "HDF5 failed to read the datatype")
                defer { _ = H5Tclose(type) }
                return HDF5ElementType(typeID: type)
            }
        }
    }

    /// The chunk shape, or nil when the dataset is not chunked (contiguous or compact).
    public var chunkShape: [Int]? {
        get throws {
            try withCreationList(context("cannot read chunk shape")) { list, context in
                guard H5Pget_layout(list) == H5D_CHUNKED else { return nil }
                var dims = [hsize_t](repeating: 0, count: 32)
                let rank = try context.check(H5Pget_chunk(list, Int32(dims.count), &dims), "HDF5 failed to read the chunk shape")
                return dims.prefix(Int(rank)).map { Int($0) }
            }
        }
    }

    /// The gzip (deflate) compression level, or nil when not compressed with gzip.
    public var deflateLevel: Int? {
        get throws {
            try withCreationList(context("cannot read filters")) { list, _ in
                var flags: UInt32 = 0
                var count = 1
                var values: [UInt32] = [0]
                var config: UInt32 = 0
                let found = H5Pget_filter_by_id2(list, H5Z_filter_t(H5Z_FILTER_DEFLATE), &flags, &count,
                                                 &values, 0, nil, &config)
                _ = H5Eclear2(defaultErrorStack)
                return found >= 0 ? Int(values[0]) : nil
            }
        }
    }

    /// The fill value set at creation (read back as `T`, which must match the
    /// stored type), or nil when none was set. Numeric types only.
    public func fillValue<T: HDF5Element>(as type: T.Type = T.self) throws -> T? {
        try withCreationList(context("cannot read fill value")) { list, context in
            guard let native = T.hdf5ElementType.nativeTypeID else {
                throw context.error(.invalidArgument, "fill values are supported for numeric types only")
            }
            try checkCompatible(try elementType, T.self, converting: false, what: "dataset", context)
            var status = H5D_FILL_VALUE_UNDEFINED
            try context.check(H5Pfill_value_defined(list, &status), "HDF5 failed to read the fill value")
            guard status == H5D_FILL_VALUE_USER_DEFINED else { return nil }
            let value = try [T](unsafeUninitializedCapacity: 1) { buffer, initialized in
                try context.check(H5Pget_fill_value(list, native, buffer.baseAddress!), "HDF5 failed to read the fill value")
                initialized = 1
            }
            return value[0]
        }
    }

    // MARK: Internal helpers

    /// Runs `body` with the dataset's identifier and dataspace, under the lock.
    func withSpace<R>(_ context: ErrorContext, _ body: (hid_t, hid_t, ErrorContext) throws -> R) throws -> R {
        try withID(context) { id in
            let space = try context.check(H5Dget_space(id), "HDF5 failed to read the dataspace")
            defer { _ = H5Sclose(space) }
            return try body(id, space, context)
        }
    }

    /// Runs `body` with the dataset's creation property list, under the lock.
    func withCreationList<R>(_ context: ErrorContext, _ body: (hid_t, ErrorContext) throws -> R) throws -> R {
        try withID(context) { id in
            let list = try context.check(H5Dget_create_plist(id), "HDF5 failed to read the creation properties")
            defer { _ = H5Pclose(list) }
            return try body(list, context)
        }
    }
}

/// `[unlimited, 1000]`, for messages.
func describe(_ maxShape: [Int?]) -> String {
    "[" + maxShape.map { $0.map(String.init) ?? "unlimited" }.joined(separator: ", ") + "]"
}
