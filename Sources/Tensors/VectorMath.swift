/// Vectorised elementary functions on 8 Float lanes, accurate to a few ulp,
/// for the hot loops of softmax and GELU (Foundation's scalar `exp`/`erf`
/// would dominate a ViT forward pass).
public typealias Float8 = SIMD8<Float>

@inline(__always)
private func bits(_ v: SIMD8<Int32>) -> Float8 { unsafeBitCast(v, to: Float8.self) }

/// e^x per lane. Cephes-style: x = n ln 2 + r with |r| <= ln2/2, e^r by a
/// degree-6 polynomial, then scaled by 2^n through the exponent bits.
/// Relative error about 2e-7 on [-87, 88]; below -87 the result is 0.
@inline(__always)
public func exp8(_ x: Float8) -> Float8 {
    // (Not `clamped`: its generic pointwise min/max is not inlined.)
    let lo = Float8(repeating: -87.3), hi = Float8(repeating: 88.3)
    let xc = x.replacing(with: lo, where: x .< lo).replacing(with: hi, where: x .> hi)
    // Adding 1.5·2^23 rounds to the nearest integer n and leaves n in the low mantissa bits.
    let magic = Float8(repeating: 12_582_912)
    let shifted = xc * 1.442_695_04 + magic
    let n = shifted - magic
    var r = xc - n * 0.693_359_375
    r = r + n * 2.121_944_4e-4
    var p = Float8(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_59e-2
    p = p * r + 1.666_666_55e-1
    p = p * r + 5.000_000_12e-1
    p = p * (r * r) + r + 1
    let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
    let scale = bits((integer &+ 127) &<< 23)
    let y = p * scale
    return y.replacing(with: 0, where: x .< -87.3)
}

/// erf(x) per lane: Abramowitz and Stegun 7.1.26,
/// erf(|x|) = 1 - (a1 t + ... + a5 t^5) e^(-x^2), t = 1 / (1 + p |x|),
/// absolute error below 1.5e-7 for all x; sign restored by symmetry.
@inline(__always)
public func erf8(_ x: Float8) -> Float8 {
    let a = x.replacing(with: -x, where: x .< 0)
    let t = 1 / (1 + 0.327_591_1 * a)
    var poly = Float8(repeating: 1.061_405_429)
    poly = poly * t - 1.453_152_027
    poly = poly * t + 1.421_413_741
    poly = poly * t - 0.284_496_736
    poly = poly * t + 0.254_829_592
    poly = poly * t
    let y = 1 - poly * exp8(Float8() - a * a)
    return y.replacing(with: -y, where: x .< 0)
}
