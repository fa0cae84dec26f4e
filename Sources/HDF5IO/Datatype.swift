// Mapping between Swift element types and HDF5 datatypes.

@preconcurrency import CHDF5

/// The type of the elements stored in a dataset or attribute.
///
/// Numeric types are stored in the machine's native byte order (little-endian
/// on x86-64 and arm64), which is what h5py/numpy write by default.
/// Strings are variable-length UTF-8 (h5py's `h5py.string_dtype()`); fixed-length
/// strings written by other tools can be read too.
public enum HDF5ElementType: Hashable, Sendable, CustomStringConvertible {
    /// 32-bit IEEE float (`Float`, numpy `float32`).
    case float32
    /// 64-bit IEEE float (`Double`, numpy `float64`).
    case float64
    /// Signed 8-bit integer (`Int8`).
    case int8
    /// Signed 16-bit integer (`Int16`).
    case int16
    /// Signed 32-bit integer (`Int32`).
    case int32
    /// Signed 64-bit integer (`Int64`, `Int`).
    case int64
    /// Unsigned 8-bit integer (`UInt8`).
    case uint8
    /// Unsigned 16-bit integer (`UInt16`).
    case uint16
    /// Unsigned 32-bit integer (`UInt32`).
    case uint32
    /// Unsigned 64-bit integer (`UInt64`).
    case uint64
    /// Text: variable-length or fixed-length strings.
    case string
    /// Anything else (compound, enum, float16, bitfield...), described in words.
    case other(String)

    /// Whether this is one of the ten numeric types.
    public var isNumeric: Bool {
        switch self {
        case .string, .other: false
        default: true
        }
    }

    /// Size of one element in bytes, for numeric types; nil otherwise.
    public var byteCount: Int? {
        switch self {
        case .int8, .uint8: 1
        case .int16, .uint16: 2
        case .float32, .int32, .uint32: 4
        case .float64, .int64, .uint64: 8
        case .string, .other: nil
        }
    }

    /// numpy's name for the type (`float32`, `int16`, `string`...).
    public var description: String {
        switch self {
        case .float32: "float32"
        case .float64: "float64"
        case .int8: "int8"
        case .int16: "int16"
        case .int32: "int32"
        case .int64: "int64"
        case .uint8: "uint8"
        case .uint16: "uint16"
        case .uint32: "uint32"
        case .uint64: "uint64"
        case .string: "string"
        case .other(let name): name
        }
    }
}

/// A Swift type that can be stored in HDF5 datasets and attributes.
///
/// Conforming types: `Float`, `Double`, `Int8`, `Int16`, `Int32`, `Int64`,
/// `Int` (stored as int64), `UInt8`, `UInt16`, `UInt32`, `UInt64` and `String`.
/// Other conformances are not supported: the wrapper copies numeric values
/// as raw memory of `hdf5ElementType.byteCount` bytes.
public protocol HDF5Element: Sendable, Equatable {
    /// The HDF5 type values of this Swift type are stored as.
    static var hdf5ElementType: HDF5ElementType { get }
}

extension Float: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .float32 } }
extension Double: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .float64 } }
extension Int8: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .int8 } }
extension Int16: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .int16 } }
extension Int32: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .int32 } }
extension Int64: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .int64 } }
extension Int: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .int64 } }
extension UInt8: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .uint8 } }
extension UInt16: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .uint16 } }
extension UInt32: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .uint32 } }
extension UInt64: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .uint64 } }
extension String: HDF5Element { public static var hdf5ElementType: HDF5ElementType { .string } }

// MARK: - HDF5 type identifiers (internal; call under HDF5Library.locked)

extension HDF5ElementType {
    /// The predefined native HDF5 type for a numeric type (never closed); nil otherwise.
    var nativeTypeID: hid_t? {
        switch self {
        case .float32: H5T_NATIVE_FLOAT_g
        case .float64: H5T_NATIVE_DOUBLE_g
        case .int8: H5T_NATIVE_INT8_g
        case .int16: H5T_NATIVE_INT16_g
        case .int32: H5T_NATIVE_INT32_g
        case .int64: H5T_NATIVE_INT64_g
        case .uint8: H5T_NATIVE_UINT8_g
        case .uint16: H5T_NATIVE_UINT16_g
        case .uint32: H5T_NATIVE_UINT32_g
        case .uint64: H5T_NATIVE_UINT64_g
        case .string, .other: nil
        }
    }

    /// Classifies a stored HDF5 datatype.
    init(typeID: hid_t) {
        let size = H5Tget_size(typeID)
        switch H5Tget_class(typeID) {
        case H5T_INTEGER:
            let signed = H5Tget_sign(typeID) == H5T_SGN_2
            switch (size, signed) {
            case (1, true): self = .int8
            case (2, true): self = .int16
            case (4, true): self = .int32
            case (8, true): self = .int64
            case (1, false): self = .uint8
            case (2, false): self = .uint16
            case (4, false): self = .uint32
            case (8, false): self = .uint64
            default: self = .other("\(signed ? "" : "u")int\(size * 8)")
            }
        case H5T_FLOAT:
            switch size {
            case 4: self = .float32
            case 8: self = .float64
            default: self = .other("float\(size * 8)")
            }
        case H5T_STRING: self = .string
        case H5T_COMPOUND: self = .other("compound")
        case H5T_ENUM: self = .other("enum")
        case H5T_BITFIELD: self = .other("bitfield")
        case H5T_OPAQUE: self = .other("opaque")
        case H5T_REFERENCE: self = .other("reference")
        case H5T_VLEN: self = .other("vlen")
        case H5T_ARRAY: self = .other("array")
        case H5T_TIME: self = .other("time")
        default: self = .other("unknown type")
        }
    }
}

/// A new variable-length UTF-8 string type; the caller closes it with `H5Tclose`.
func makeVariableStringType(_ context: ErrorContext) throws -> hid_t {
    let type = try context.check(H5Tcopy(H5T_C_S1_g), "cannot make a string type")
    guard H5Tset_size(type, variableSize) >= 0, H5Tset_cset(type, H5T_CSET_UTF8) >= 0 else {
        _ = H5Tclose(type)
        throw context.error(.library, "cannot make a string type", fromLibrary: true)
    }
    return type
}

/// Checks that values stored as `stored` may be read or written as `T`.
/// Identical types always pass; with `converting`, any numeric pair passes
/// (HDF5 converts, clamping out-of-range values). Strings never convert.
func checkCompatible<T: HDF5Element>(_ stored: HDF5ElementType, _ type: T.Type,
                                     converting: Bool, what: String,
                                     _ context: ErrorContext) throws {
    let asked = T.hdf5ElementType
    if stored == asked { return }
    if converting && stored.isNumeric && asked.isNumeric { return }
    var reason = "\(what) holds \(stored) values, asked for \(asked) (\(T.self))"
    if stored.isNumeric && asked.isNumeric { reason += "; pass converting: true to convert" }
    throw context.error(.typeMismatch, reason)
}
