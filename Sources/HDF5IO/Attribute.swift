// Attributes: small named values attached to a file (its root group), a group
// or a dataset. Scalars and one-dimensional arrays of any `HDF5Element`,
// strings included. Reading follows the datasets' rule on types: the stored
// type must match unless `converting` (numeric types only).

@preconcurrency import CHDF5

extension HDF5Object {
    /// Sets attribute `name` to the scalar `value`, replacing any attribute of that name.
    public func setAttribute<T: HDF5Element>(_ name: String, to value: T) throws {
        try writeAttribute(name, [value], shape: [])
    }

    /// Sets attribute `name` to the one-dimensional array `values`, replacing
    /// any attribute of that name.
    public func setAttribute<T: HDF5Element>(_ name: String, to values: [T]) throws {
        try writeAttribute(name, values, shape: [values.count])
    }

    /// Reads attribute `name`, which must hold exactly one value (a scalar or a
    /// one-element array). Throws `.notFound` when absent.
    public func attribute<T: HDF5Element>(_ name: String, as type: T.Type = T.self,
                                          converting: Bool = false) throws -> T {
        let values: [T] = try attributeValues(name, converting: converting)
        guard values.count == 1 else {
            throw context("cannot read attribute \"\(name)\"")
                .error(.shapeMismatch, "attribute holds \(values.count) values, asked for one")
        }
        return values[0]
    }

    /// Reads all values of attribute `name` (C order, whatever its shape; one
    /// value for a scalar). Throws `.notFound` when absent.
    public func attributeValues<T: HDF5Element>(_ name: String, as type: T.Type = T.self,
                                                converting: Bool = false) throws -> [T] {
        let context = context("cannot read attribute \"\(name)\"")
        return try withAttribute(name, context) { attribute in
            let storedType = try context.check(H5Aget_type(attribute), "HDF5 failed to read the datatype")
            defer { _ = H5Tclose(storedType) }
            try checkCompatible(HDF5ElementType(typeID: storedType), T.self, converting: converting,
                                what: "attribute", context)
            let space = try context.check(H5Aget_space(attribute), "HDF5 failed to read the dataspace")
            defer { _ = H5Sclose(space) }
            let count = Int(try context.check(H5Sget_simple_extent_npoints(space), "HDF5 failed to read the dataspace"))
            return try readElements(count: count, storedType: storedType, context) { memoryType, buffer in
                H5Aread(attribute, memoryType, buffer)
            }
        }
    }

    /// The stored element type of attribute `name`. Throws `.notFound` when absent.
    public func attributeType(_ name: String) throws -> HDF5ElementType {
        let context = context("cannot read attribute \"\(name)\"")
        return try withAttribute(name, context) { attribute in
            let storedType = try context.check(H5Aget_type(attribute), "HDF5 failed to read the datatype")
            defer { _ = H5Tclose(storedType) }
            return HDF5ElementType(typeID: storedType)
        }
    }

    /// Whether attribute `name` exists.
    public func hasAttribute(_ name: String) throws -> Bool {
        let context = context("cannot look up attribute \"\(name)\"")
        return try withID(context) { id in
            try context.check(H5Aexists(id, name), "HDF5 failed to look up the attribute") > 0
        }
    }

    /// The names of all attributes, in ascending name order.
    public func attributeNames() throws -> [String] {
        let context = context("cannot list attributes")
        return try withID(context) { id in
            final class Names { var list: [String] = [] }
            let names = Names()
            try context.check(H5Aiterate2(id, H5_INDEX_NAME, H5_ITER_INC, nil, { _, name, _, client in
                guard let name, let client else { return 0 }
                Unmanaged<Names>.fromOpaque(client).takeUnretainedValue().list.append(String(cString: name))
                return 0
            }, Unmanaged.passUnretained(names).toOpaque()), "HDF5 failed to iterate over attributes")
            return names.list
        }
    }

    /// Removes attribute `name`. Throws `.notFound` when absent.
    public func removeAttribute(_ name: String) throws {
        let context = context("cannot remove attribute \"\(name)\"")
        try withID(context) { id in
            guard try context.check(H5Aexists(id, name), "HDF5 failed to look up the attribute") > 0 else {
                throw context.error(.notFound, "no such attribute")
            }
            try context.check(H5Adelete(id, name), "HDF5 failed to delete the attribute")
        }
    }

    // MARK: Internal

    /// Creates (or replaces) attribute `name` holding `values` of `shape` (`[]`: scalar).
    private func writeAttribute<T: HDF5Element>(_ name: String, _ values: [T], shape: [Int]) throws {
        let context = context("cannot write attribute \"\(name)\"")
        guard !name.isEmpty else { throw context.error(.invalidArgument, "empty attribute name") }
        try withID(context) { id in
            if try context.check(H5Aexists(id, name), "HDF5 failed to look up the attribute") > 0 {
                try context.check(H5Adelete(id, name), "HDF5 failed to replace the attribute")
            }
            let storedType = try T.hdf5ElementType.nativeTypeID.map { try context.check(H5Tcopy($0), "cannot copy type") }
                ?? makeVariableStringType(context)
            defer { _ = H5Tclose(storedType) }
            let space = try makeDataspace(shape: shape, context)
            defer { _ = H5Sclose(space) }
            let attribute = try context.check(
                H5Acreate2(id, name, storedType, space, defaultPropertyList, defaultPropertyList),
                "HDF5 failed to create the attribute")
            defer { _ = H5Aclose(attribute) }
            try writeElements(values, context) { memoryType, buffer in H5Awrite(attribute, memoryType, buffer) }
        }
    }

    /// Runs `body` with attribute `name` open, under the lock; `.notFound` when absent.
    private func withAttribute<R>(_ name: String, _ context: ErrorContext, _ body: (hid_t) throws -> R) throws -> R {
        try withID(context) { id in
            guard try context.check(H5Aexists(id, name), "HDF5 failed to look up the attribute") > 0 else {
                throw context.error(.notFound, "no such attribute")
            }
            let attribute = try context.check(H5Aopen(id, name, defaultPropertyList), "HDF5 failed to open the attribute")
            defer { _ = H5Aclose(attribute) }
            return try body(attribute)
        }
    }
}
