// Moving element values between Swift arrays and HDF5 buffers: the one
// generic path shared by datasets and attributes (numeric types are copied
// as raw memory; strings go through variable-length C strings).

@preconcurrency import CHDF5
import Foundation

/// Writes `values` through `transfer(memoryType, buffer)` (an `H5Dwrite` or
/// `H5Awrite` call). Writes nothing for an empty array. Call under the lock.
///
/// Strings are written as variable-length UTF-8; a string is cut at its first
/// NUL character (C strings cannot hold one).
func writeElements<T: HDF5Element>(_ values: [T], _ context: ErrorContext,
                                   _ transfer: (hid_t, UnsafeRawPointer) -> herr_t) throws {
    guard !values.isEmpty else { return }
    let type = T.hdf5ElementType
    if let native = type.nativeTypeID {
        precondition(MemoryLayout<T>.stride == type.byteCount, "\(T.self) is not a \(type)")
        _ = try values.withUnsafeBytes { raw in
            try context.check(transfer(native, raw.baseAddress!), "HDF5 failed to write")
        }
    } else if type == .string, let strings = values as? [String] {
        let memoryType = try makeVariableStringType(context)
        defer { _ = H5Tclose(memoryType) }
        let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        defer { pointers.forEach { free($0) } }
        _ = try pointers.withUnsafeBytes { raw in
            try context.check(transfer(memoryType, raw.baseAddress!), "HDF5 failed to write")
        }
    } else {
        throw context.error(.invalidArgument, "\(T.self) cannot be stored in HDF5")
    }
}

/// Reads `count` values stored as `storedType` through `transfer(memoryType,
/// buffer)` (an `H5Dread` or `H5Aread` call). Numeric values are read as
/// `T`'s native type (HDF5 converts byte order, and other numeric types when
/// the caller allowed it). Strings may be stored variable- or fixed-length.
/// Call under the lock, after `checkCompatible`.
func readElements<T: HDF5Element>(count: Int, storedType: hid_t, _ context: ErrorContext,
                                  _ transfer: (hid_t, UnsafeMutableRawPointer) -> herr_t) throws -> [T] {
    guard count > 0 else { return [] }
    let type = T.hdf5ElementType
    if let native = type.nativeTypeID {
        precondition(MemoryLayout<T>.stride == type.byteCount, "\(T.self) is not a \(type)")
        return try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = 0
            try context.check(transfer(native, UnsafeMutableRawPointer(buffer.baseAddress!)),
                              "HDF5 failed to read")
            initialized = count
        }
    }
    guard type == .string else {
        throw context.error(.invalidArgument, "\(T.self) cannot be read from HDF5")
    }
    let strings = H5Tis_variable_str(storedType) > 0
        ? try readVariableStrings(count: count, storedType: storedType, context, transfer)
        : try readFixedStrings(count: count, storedType: storedType, context, transfer)
    return strings as! [T]
}

/// Reads variable-length strings, freeing the buffers HDF5 allocated.
private func readVariableStrings(count: Int, storedType: hid_t, _ context: ErrorContext,
                                 _ transfer: (hid_t, UnsafeMutableRawPointer) -> herr_t) throws -> [String] {
    let memoryType = try context.check(H5Tcopy(H5T_C_S1_g), "cannot make a string type")
    defer { _ = H5Tclose(memoryType) }
    _ = H5Tset_size(memoryType, variableSize)
    _ = H5Tset_cset(memoryType, H5Tget_cset(storedType))
    var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
    _ = try pointers.withUnsafeMutableBytes { raw in
        try context.check(transfer(memoryType, raw.baseAddress!), "HDF5 failed to read")
    }
    defer { pointers.forEach { if let p = $0 { _ = H5free_memory(p) } } }
    return pointers.map { $0.map { String(cString: $0) } ?? "" }
}

/// Reads fixed-length strings, dropping NUL (or space) padding.
private func readFixedStrings(count: Int, storedType: hid_t, _ context: ErrorContext,
                              _ transfer: (hid_t, UnsafeMutableRawPointer) -> herr_t) throws -> [String] {
    let size = H5Tget_size(storedType)
    guard size > 0 else { return [String](repeating: "", count: count) }
    let memoryType = try context.check(H5Tcopy(H5T_C_S1_g), "cannot make a string type")
    defer { _ = H5Tclose(memoryType) }
    let pad = H5Tget_strpad(storedType)
    _ = H5Tset_size(memoryType, size)
    _ = H5Tset_cset(memoryType, H5Tget_cset(storedType))
    _ = H5Tset_strpad(memoryType, pad)
    var bytes = [UInt8](repeating: 0, count: count * size)
    _ = try bytes.withUnsafeMutableBytes { raw in
        try context.check(transfer(memoryType, raw.baseAddress!), "HDF5 failed to read")
    }
    return (0..<count).map { i in
        var element = bytes[(i * size)..<((i + 1) * size)]
        if let nul = element.firstIndex(of: 0) { element = element[..<nul] }
        if pad == H5T_STR_SPACEPAD {
            while element.last == UInt8(ascii: " ") { element = element.dropLast() }
        }
        return String(decoding: element, as: UTF8.self)
    }
}
