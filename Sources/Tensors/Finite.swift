/// Finiteness checks over Float buffers: one vectorised pass (8 lanes, an
/// exponent-bits test), then a scalar scan of the 1,024-value block that
/// holds the first NaN or infinity, if any.

/// Index of the first NaN or infinity in `p`, or nil when every value is finite.
public func firstNonFinite(_ p: UnsafeBufferPointer<Float>) -> Int? {
    guard let base = p.baseAddress else { return nil }
    let n = p.count, block = 1024
    let exponent = SIMD8<UInt32>(repeating: 0x7F80_0000)
    var start = 0
    while start < n {
        let end = min(n, start + block)
        var i = start
        var bad = SIMDMask<SIMD8<Int32>>()
        let raw = UnsafeRawPointer(base)
        while i + 8 <= end {
            let bits = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<UInt32>.self)
            bad .|= (bits & exponent) .== exponent
            i += 8
        }
        var found = any(bad)
        while !found && i < end {
            found = !base[i].isFinite
            i += 1
        }
        if found {
            for j in start..<end where !base[j].isFinite { return j }
        }
        start = end
    }
    return nil
}

/// Index of the first NaN or infinity in `values`, or nil when all are finite.
public func firstNonFinite(_ values: [Float]) -> Int? {
    values.withUnsafeBufferPointer { firstNonFinite($0) }
}

extension Tensor {
    /// Flat index of the first NaN or infinity, or nil when every scalar is finite.
    public var firstNonFiniteIndex: Int? { firstNonFinite(scalars) }
}
