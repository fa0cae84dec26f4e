/// Pillow's bicubic kernel (Keys' cubic convolution, a = -0.5), support 2:
///
///     K(x) = (a + 2)|x|^3 - (a + 3)|x|^2 + 1        for |x| < 1
///     K(x) = a(|x|^3 - 5|x|^2 + 8|x| - 4)           for 1 <= |x| < 2
///     K(x) = 0                                      otherwise
///
/// evaluated with Pillow's operation order, so that the doubles agree bit for bit.
@inline(__always)
func bicubicKernel(_ x: Double) -> Double {
    let a = -0.5
    let x = x < 0 ? -x : x
    if x < 1.0 { return ((a + 2.0) * x - (a + 3.0)) * x * x + 1 }
    if x < 2.0 { return (((x - 5) * x + 8) * x - 4) * a }
    return 0.0
}

/// Fixed-point precision of Pillow's 8-bit resampling: 32 - 8 - 2 bits, leaving
/// room for 8-bit samples and filter sums above 1 in an Int32.
let resamplePrecisionBits: Int32 = 22

/// The filter coefficients for resampling one axis of `inSize` samples to
/// `outSize`, computed once per resize exactly as Pillow's `precompute_coeffs`
/// and `normalize_coeffs_8bpc` (Resample.c) do for BICUBIC:
///
///     scale = inSize / outSize,  s = max(scale, 1)  (antialiasing on downscale)
///     support = 2 s,  center_i = (i + 0.5) scale
///     inputs j = trunc(center_i - support + 0.5) ..< trunc(center_i + support + 0.5),
///         clipped to 0 ..< inSize
///     w_ij = K((j - center_i + 0.5) / s) / sum_j K(...)
///     weight_ij = w_ij 2^22 rounded half away from zero to an Int32
struct ResampleAxis: Sendable {
    let inSize: Int
    let outSize: Int
    /// The outputs whose coefficients are computed (all by default; a crop
    /// needs only its window, so that memory follows the window, not the
    /// resized size). Arrays below are indexed by `i - first`.
    let first: Int
    /// Coefficient slots per output sample: ceil(support) * 2 + 1.
    let taps: Int
    /// Output `first + i` reads inputs `start[i] ..< start[i] + count[i]`.
    let start: [Int]
    let count: [Int]
    /// Weight of input `start[i] + k` for output `first + i` at `i * taps + k`, in units of 2^-22.
    let weights: [Int32]

    init(inSize: Int, outSize: Int, outputs: Range<Int>? = nil) {
        precondition(inSize > 0 && outSize > 0, "resample \(inSize) -> \(outSize)")
        let outputs = outputs ?? 0 ..< outSize
        precondition(outputs.lowerBound >= 0 && outputs.upperBound <= outSize, "outputs \(outputs) of \(outSize)")
        self.inSize = inSize
        self.outSize = outSize
        self.first = outputs.lowerBound
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = 2.0 * filterScale
        let taps = Int(support.rounded(.up)) * 2 + 1
        self.taps = taps

        let n = outputs.count
        var start = [Int](repeating: 0, count: n)
        var count = [Int](repeating: 0, count: n)
        var weights = [Int32](repeating: 0, count: n * taps)
        var k = [Double](repeating: 0, count: taps)
        let inverseScale = 1.0 / filterScale
        let one = Double(1 << resamplePrecisionBits)
        for (i, output) in outputs.enumerated() {
            let center = (Double(output) + 0.5) * scale
            let first = max(Int(center - support + 0.5), 0)
            let n = min(Int(center + support + 0.5), inSize) - first
            var sum = 0.0
            for j in 0..<n {
                let w = bicubicKernel((Double(j + first) - center + 0.5) * inverseScale)
                k[j] = w
                sum += w
            }
            for j in 0..<n {
                let w = sum != 0.0 ? k[j] / sum : k[j]
                weights[i * taps + j] = w < 0 ? Int32(-0.5 + w * one) : Int32(0.5 + w * one)
            }
            start[i] = first
            count[i] = n
        }
        self.start = start
        self.count = count
        self.weights = weights
    }
}

/// Pillow's `clip8`: a 2^-22 fixed-point sum (with its rounding half already
/// added) to an 8-bit sample, `clamp(sum >> 22, 0, 255)`.
@inline(__always)
func clip8(_ sum: Int32) -> UInt8 {
    UInt8(clamping: sum >> resamplePrecisionBits)
}
