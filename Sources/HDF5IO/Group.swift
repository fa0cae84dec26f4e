// Groups: create (with intermediate groups), open, list, test, remove.

@preconcurrency import CHDF5

/// What a path in a file names.
public enum HDF5ObjectKind: Sendable, Hashable {
    /// A group (or the file's root group).
    case group
    /// A dataset.
    case dataset
    /// A committed datatype or another kind of object.
    case other
}

/// A group: a container of groups and datasets, like a directory.
///
/// Paths given to a group's methods are relative to it, or absolute (from the
/// file's root) when they start with "/". `HDF5File` is the root group.
public class HDF5Group: HDF5Object, @unchecked Sendable {
    /// Creates a new group at `path`, creating missing intermediate groups.
    /// Throws `.alreadyExists` when something is already there.
    @discardableResult
    public func createGroup(_ path: String) throws -> HDF5Group {
        let target = resolve(path)
        let context = context("cannot create group", path: target)
        return try withID(context) { id in
            if objectExists(id, target) { throw context.error(.alreadyExists, "an object exists at this path") }
            return try makeGroup(id, target, context)
        }
    }

    /// Opens the group at `path`, creating it and any missing intermediate
    /// groups when absent (h5py's `require_group`). Throws `.typeMismatch`
    /// when a dataset is there.
    public func requireGroup(_ path: String) throws -> HDF5Group {
        let target = resolve(path)
        let context = context("cannot require group", path: target)
        return try withID(context) { id in
            if objectExists(id, target) { return try openGroup(target) }
            return try makeGroup(id, target, context)
        }
    }

    /// Opens the existing group at `path`. Throws `.notFound` when nothing is
    /// there and `.typeMismatch` when it is not a group.
    public func openGroup(_ path: String) throws -> HDF5Group {
        let target = resolve(path)
        let context = context("cannot open group", path: target)
        return try withID(context) { id in
            let object = try openObject(id, target, expecting: .group, context)
            return HDF5Group(handle: Handle(object, kind: .object, file: fileHandle),
                             filePath: filePath, path: target)
        }
    }

    /// Whether a group, dataset or other object exists at `path`. Never prints
    /// or throws for a missing path (even when intermediate groups are missing);
    /// throws only when this group or its file was closed.
    public func contains(_ path: String) throws -> Bool {
        let target = resolve(path)
        return try withID(context("cannot look up", path: target)) { id in objectExists(id, target) }
    }

    /// The kind of object at `path`, or nil when nothing is there.
    public func kind(of path: String) throws -> HDF5ObjectKind? {
        let target = resolve(path)
        let context = context("cannot look up", path: target)
        return try withID(context) { id in
            guard objectExists(id, target) else { return nil }
            let object = try context.check(H5Oopen(id, target, defaultPropertyList), "cannot open the object")
            defer { _ = H5Oclose(object) }
            return objectKind(object)
        }
    }

    /// The names of this group's direct members (groups, datasets, links),
    /// in ascending name order.
    public func members() throws -> [String] {
        let context = context("cannot list members")
        return try withID(context) { id in
            var info = H5G_info_t()
            try context.check(H5Gget_info(id, &info), "cannot read the group info")
            return try (0..<info.nlinks).map { index in
                let length = try context.check(
                    H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, defaultPropertyList),
                    "cannot read member \(index)")
                var name = [UInt8](repeating: 0, count: Int(length) + 1)
                _ = try name.withUnsafeMutableBufferPointer { buffer in
                    try buffer.withMemoryRebound(to: CChar.self) { chars in
                        try context.check(
                            H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, chars.baseAddress,
                                               chars.count, defaultPropertyList),
                            "cannot read member \(index)")
                    }
                }
                return String(decoding: name.prefix(Int(length)), as: UTF8.self)
            }
        }
    }

    /// Removes the link at `path` (group, dataset...). HDF5 does not reclaim
    /// the space in the file. Throws `.notFound` when nothing is there.
    public func remove(_ path: String) throws {
        let target = resolve(path)
        let context = context("cannot remove", path: target)
        try withID(context) { id in
            guard objectExists(id, target) else { throw context.error(.notFound, "no such object") }
            try context.check(H5Ldelete(id, target, defaultPropertyList), "HDF5 failed to delete the link")
        }
    }

    // MARK: Internal helpers (call under the lock)

    /// Creates the group `target` with intermediate groups.
    private func makeGroup(_ id: hid_t, _ target: String, _ context: ErrorContext) throws -> HDF5Group {
        let linkList = try makeIntermediateLinkList(context)
        defer { _ = H5Pclose(linkList) }
        let group = try context.check(
            H5Gcreate2(id, target, linkList, defaultPropertyList, defaultPropertyList),
            "HDF5 failed to create the group")
        return HDF5Group(handle: Handle(group, kind: .object, file: fileHandle), filePath: filePath, path: target)
    }

    /// Whether `target` (absolute) resolves to an object. Checks each prefix,
    /// because HDF5 fails (rather than answering false) on a missing intermediate.
    func objectExists(_ id: hid_t, _ target: String) -> Bool {
        let parts = components(of: target)
        var prefix = ""
        for part in parts {
            prefix += "/" + part
            if H5Lexists(id, prefix, defaultPropertyList) <= 0 { _ = H5Eclear2(defaultErrorStack); return false }
        }
        let exists = parts.isEmpty || H5Oexists_by_name(id, target, defaultPropertyList) > 0
        _ = H5Eclear2(defaultErrorStack)
        return exists
    }

    /// Opens the object at `target`, checking its kind. The caller owns the identifier.
    func openObject(_ id: hid_t, _ target: String, expecting kind: HDF5ObjectKind,
                    _ context: ErrorContext) throws -> hid_t {
        guard objectExists(id, target) else { throw context.error(.notFound, "no such \(kind)") }
        let object = try context.check(H5Oopen(id, target, defaultPropertyList), "HDF5 failed to open it",
                                       kind: .corrupt)
        let found = objectKind(object)
        guard found == kind else {
            _ = H5Oclose(object)
            throw context.error(.typeMismatch, "it is a \(found), not a \(kind)")
        }
        return object
    }
}

/// The kind of an open object.
func objectKind(_ object: hid_t) -> HDF5ObjectKind {
    switch H5Iget_type(object) {
    case H5I_GROUP, H5I_FILE: .group
    case H5I_DATASET: .dataset
    default: .other
    }
}

/// A link creation property list that creates missing intermediate groups.
/// The caller closes it.
func makeIntermediateLinkList(_ context: ErrorContext) throws -> hid_t {
    let list = try context.check(H5Pcreate(H5P_CLS_LINK_CREATE_ID_g), "cannot create a property list")
    guard H5Pset_create_intermediate_group(list, 1) >= 0 else {
        _ = H5Pclose(list)
        throw context.error(.library, "cannot set intermediate group creation", fromLibrary: true)
    }
    return list
}

extension HDF5Group {
    /// Every attribute and dataset under this group as text: `path@name` for
    /// attributes, `path` for datasets (element type, shape and every value).
    /// Two files hold the same data exactly when their inventories are equal
    /// (floats are printed to the last bit); meant for tests and checks on small files.
    public func inventory() throws -> [String: String] {
        var out: [String: String] = [:]
        func values(_ d: HDF5Dataset) throws -> String {
            switch try d.elementType {
            case .float32: return "\(try d.read(as: Float.self).values.map(\.bitPattern))"
            case .float64: return "\(try d.read(as: Double.self).values.map(\.bitPattern))"
            case .int8: return "\(try d.read(as: Int8.self).values)"
            case .int16: return "\(try d.read(as: Int16.self).values)"
            case .int32: return "\(try d.read(as: Int32.self).values)"
            case .int64: return "\(try d.read(as: Int64.self).values)"
            case .uint8: return "\(try d.read(as: UInt8.self).values)"
            case .uint16: return "\(try d.read(as: UInt16.self).values)"
            case .uint32: return "\(try d.read(as: UInt32.self).values)"
            case .uint64: return "\(try d.read(as: UInt64.self).values)"
            case .string: return "\(try d.read(as: String.self).values)"
            case .other(let name): return "(\(name): not compared)"
            }
        }
        func attribute(_ g: HDF5Object, _ name: String) throws -> String {
            func text<T>(_ v: [T]) -> String { v.count == 1 ? "\(v[0])" : "\(v)" }
            switch try g.attributeType(name) {
            case .string: return text(try g.attributeValues(name, as: String.self))
            case .float32, .float64: return text(try g.attributeValues(name, as: Double.self).map(\.bitPattern))
            default: return text(try g.attributeValues(name, as: Int64.self))
            }
        }
        func walk(_ g: HDF5Group, _ prefix: String) throws {
            for name in try g.attributeNames() { out["\(prefix)@\(name)"] = try attribute(g, name) }
            for m in try g.members() {
                let p = prefix == "/" ? "/\(m)" : "\(prefix)/\(m)"
                if try g.kind(of: m) == .group { try walk(try g.openGroup(m), p); continue }
                let d = try g.openDataset(m)
                for name in try d.attributeNames() { out["\(p)@\(name)"] = try attribute(d, name) }
                out[p] = "\(try d.elementType) \(try d.shape) \(try values(d))"
            }
        }
        try walk(self, path)
        return out
    }
}
