// Creating and opening datasets in a group.

@preconcurrency import CHDF5

extension HDF5Group {
    /// Creates a dataset of `T` values at `path` (missing intermediate groups are created).
    ///
    /// - Parameters:
    ///   - path: where, absolute or relative to this group.
    ///   - type: the element type stored.
    ///   - shape: initial size of each dimension; `[]` for a scalar.
    ///   - maxShape: maximum size of each dimension, nil entries unlimited (so
    ///     the dataset can grow with `resize` or `append`); nil means `shape`.
    ///   - chunks: chunk shape. Required by HDF5 for growable or compressed
    ///     datasets; when nil there, one is chosen: whole trailing dimensions
    ///     and as many rows as fit in about 256 KiB.
    ///   - deflate: gzip level 0...9, or nil for no compression.
    ///   - shuffle: apply the byte-shuffle filter before deflate (helps floats).
    ///   - fillValue: value of elements never written (numeric types only);
    ///     nil leaves HDF5's default, zero.
    /// - Throws: `.alreadyExists` when something is at `path`; `.invalidArgument`
    ///   for inconsistent shapes or levels.
    @discardableResult
    public func createDataset<T: HDF5Element>(
        _ path: String, of type: T.Type, shape: [Int], maxShape: [Int?]? = nil,
        chunks: [Int]? = nil, deflate: Int? = nil, shuffle: Bool = false, fillValue: T? = nil
    ) throws -> HDF5Dataset {
        let target = resolve(path)
        let context = context("cannot create dataset", path: target)
        try validate(shape: shape, maxShape: maxShape, chunks: chunks, deflate: deflate, context)
        if fillValue != nil && !T.hdf5ElementType.isNumeric {
            throw context.error(.invalidArgument, "fill values are supported for numeric types only")
        }
        return try withID(context) { id in
            if objectExists(id, target) { throw context.error(.alreadyExists, "an object exists at this path") }
            let space = try makeDataspace(shape: shape, maxShape: maxShape, context)
            defer { _ = H5Sclose(space) }
            let creation = try context.check(H5Pcreate(H5P_CLS_DATASET_CREATE_ID_g), "cannot create a property list")
            defer { _ = H5Pclose(creation) }
            let growable = maxShape.map { $0 != shape.map(Optional.some) } ?? false
            if chunks != nil || deflate != nil || shuffle || growable {
                let chunkShape = chunks ?? defaultChunks(shape: shape, maxShape: maxShape ?? shape,
                                                         elementSize: T.hdf5ElementType.byteCount ?? 16)
                try context.check(H5Pset_chunk(creation, Int32(chunkShape.count), chunkShape.map { hsize_t($0) }),
                                  "HDF5 refused chunk shape \(describe(chunkShape))", kind: .invalidArgument)
            }
            if shuffle { try context.check(H5Pset_shuffle(creation), "HDF5 failed to set the shuffle filter") }
            if let deflate {
                guard H5Zfilter_avail(H5Z_filter_t(H5Z_FILTER_DEFLATE)) > 0 else {
                    throw context.error(.library, "this HDF5 library has no deflate (gzip) filter")
                }
                try context.check(H5Pset_deflate(creation, UInt32(deflate)), "HDF5 failed to set deflate")
            }
            if let fillValue, let native = T.hdf5ElementType.nativeTypeID {
                _ = try [fillValue].withUnsafeBytes { raw in
                    try context.check(H5Pset_fill_value(creation, native, raw.baseAddress), "HDF5 failed to set the fill value")
                }
            }
            let links = try makeIntermediateLinkList(context)
            defer { _ = H5Pclose(links) }
            let storedType = try T.hdf5ElementType.nativeTypeID.map { try context.check(H5Tcopy($0), "cannot copy type") }
                ?? makeVariableStringType(context)
            defer { _ = H5Tclose(storedType) }
            let dataset = try context.check(
                H5Dcreate2(id, target, storedType, space, links, creation, defaultPropertyList),
                "HDF5 failed to create the dataset")
            return HDF5Dataset(handle: Handle(dataset, kind: .object, file: fileHandle), filePath: filePath, path: target)
        }
    }

    /// Creates a dataset at `path` holding `values` (C order) of `shape`
    /// (default: one dimension of `values.count`), optionally chunked and compressed.
    @discardableResult
    public func createDataset<T: HDF5Element>(
        _ path: String, values: [T], shape: [Int]? = nil, chunks: [Int]? = nil, deflate: Int? = nil
    ) throws -> HDF5Dataset {
        let shape = shape ?? [values.count]
        guard shape.reduce(1, *) == values.count else {
            throw context("cannot create dataset", path: resolve(path))
                .error(.shapeMismatch, "\(values.count) values do not fill shape \(describe(shape))")
        }
        let dataset = try createDataset(path, of: T.self, shape: shape, chunks: chunks, deflate: deflate)
        try dataset.write(values)
        return dataset
    }

    /// Opens the existing dataset at `path`. Throws `.notFound` when nothing is
    /// there (a cache miss) and `.typeMismatch` when it is not a dataset.
    public func openDataset(_ path: String) throws -> HDF5Dataset {
        let target = resolve(path)
        let context = context("cannot open dataset", path: target)
        return try withID(context) { id in
            let object = try openObject(id, target, expecting: .dataset, context)
            return HDF5Dataset(handle: Handle(object, kind: .object, file: fileHandle), filePath: filePath, path: target)
        }
    }

    /// Checks creation arguments before calling HDF5, for clear messages.
    private func validate(shape: [Int], maxShape: [Int?]?, chunks: [Int]?, deflate: Int?,
                          _ context: ErrorContext) throws {
        if shape.contains(where: { $0 < 0 }) {
            throw context.error(.invalidArgument, "negative size in shape \(describe(shape))")
        }
        if let maxShape {
            guard maxShape.count == shape.count,
                  zip(shape, maxShape).allSatisfy({ size, max in max.map { $0 >= size } ?? true }) else {
                throw context.error(.invalidArgument,
                                    "maximum shape \(describe(maxShape)) does not contain shape \(describe(shape))")
            }
        }
        if let chunks {
            guard !shape.isEmpty else { throw context.error(.invalidArgument, "a scalar dataset cannot be chunked") }
            guard chunks.count == shape.count, chunks.allSatisfy({ $0 > 0 }) else {
                throw context.error(.invalidArgument,
                                    "chunk shape \(describe(chunks)) does not fit shape \(describe(shape))")
            }
        }
        if let deflate, !(0...9).contains(deflate) {
            throw context.error(.invalidArgument, "deflate level \(deflate) is not in 0...9")
        }
        if shape.isEmpty && (maxShape.map { !$0.isEmpty } ?? false) {
            throw context.error(.invalidArgument, "a scalar dataset cannot grow")
        }
    }
}

/// A chunk shape for a dataset of `shape` growing to `maxShape`: whole
/// trailing dimensions (halved while one row exceeds the target) and as many
/// rows as fit in `targetBytes`, never more rows than a fixed first dimension holds.
func defaultChunks(shape: [Int], maxShape: [Int?], elementSize: Int, targetBytes: Int = 256 * 1024) -> [Int] {
    guard !shape.isEmpty else { return [] }
    var chunk = shape.map { max($0, 1) }
    func bytes(_ c: [Int]) -> Int { c.dropFirst().reduce(elementSize, *) }
    while bytes(chunk) > targetBytes, let largest = chunk.indices.dropFirst().max(by: { chunk[$0] < chunk[$1] }),
          chunk[largest] > 1 {
        chunk[largest] = (chunk[largest] + 1) / 2
    }
    var rows = max(1, targetBytes / bytes(chunk))
    if let fixed = maxShape[0] { rows = min(rows, max(fixed, 1)) }
    chunk[0] = rows
    return chunk
}
