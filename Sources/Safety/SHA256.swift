import CSHA256

/// Incremental SHA-256 (FIPS 180-4): the identity of weights and image files
/// in a cache and, through `HMACSHA256`, the link's frame authentication.
/// Blocks go through the x86 SHA extensions where the CPU has them
/// (Sources/CSHA256), else through the portable function below; the two
/// agree bit for bit (SHA256Tests).
public struct SHA256: Sendable {
    public init() {}

    /// Whether this CPU runs SHA-256 blocks in hardware.
    public static let hardwareAvailable = semcom_sha256_hw_available() != 0

    /// Whether this hasher uses the hardware (tests turn it off to compare).
    var useHardware = hardwareAvailable

    private var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    private var buffer: [UInt8] = []
    private var length: UInt64 = 0

    /// The round constants (one table, in Sources/CSHA256).
    private static let k: [UInt32] = withUnsafeBytes(of: semcom_sha256_k) { Array($0.bindMemory(to: UInt32.self)) }

    public mutating func update<Bytes: Collection>(_ data: Bytes) where Bytes.Element == UInt8 {
        length += UInt64(data.count)
        if data.withContiguousStorageIfAvailable({ absorb($0) }) == nil {
            Array(data).withUnsafeBufferPointer { absorb($0) }
        }
    }

    /// Completes the partial block from `bytes`, compresses every whole block
    /// in place (no copy), and keeps the rest for the next call.
    private mutating func absorb(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        if !buffer.isEmpty {
            let take = min(64 - buffer.count, left)
            buffer.append(contentsOf: UnsafeBufferPointer(start: p, count: take))
            p += take; left -= take
            guard buffer.count == 64 else { return }
            let block = buffer
            block.withUnsafeBufferPointer { compress($0.baseAddress!, blocks: 1) }
            buffer.removeAll(keepingCapacity: true)
        }
        let whole = left / 64
        if whole > 0 { compress(p, blocks: whole) }
        buffer.append(contentsOf: UnsafeBufferPointer(start: p + 64 * whole, count: left - 64 * whole))
    }

    /// The digest of `bytes` in one call.
    public static func digest(_ bytes: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    public mutating func finalize() -> [UInt8] {
        let bits = length &* 8
        var tail = buffer + [0x80]
        while tail.count % 64 != 56 { tail.append(0) }
        for i in (0..<8).reversed() { tail.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(i)))) }
        tail.withUnsafeBufferPointer { compress($0.baseAddress!, blocks: $0.count / 64) }
        return h.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } }
    }

    /// The compression function on `blocks` 64-byte blocks at `p`.
    private mutating func compress(_ p: UnsafePointer<UInt8>, blocks: Int) {
        if useHardware {
            h.withUnsafeMutableBufferPointer { semcom_sha256_hw_blocks($0.baseAddress!, p, blocks) }
        } else {
            for b in 0..<blocks { compressPortably(p + 64 * b) }
        }
    }

    private mutating func compressPortably(_ p: UnsafePointer<UInt8>) {
        func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { x >> n | x << (32 - n) }
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            for i in 0..<16 {
                let o = 4 * i
                w[i] = UInt32(p[o]) << 24 | UInt32(p[o + 1]) << 16 | UInt32(p[o + 2]) << 8 | UInt32(p[o + 3])
            }
            for i in 16..<64 {
                let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
                let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
                w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
            Self.k.withUnsafeBufferPointer { k in
                for i in 0..<64 {
                    let t1 = hh &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ k[i] &+ w[i]
                    let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
                    (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
                }
            }
            h[0] = h[0] &+ a; h[1] = h[1] &+ b; h[2] = h[2] &+ c; h[3] = h[3] &+ d
            h[4] = h[4] &+ e; h[5] = h[5] &+ f; h[6] = h[6] &+ g; h[7] = h[7] &+ hh
        }
    }
}

/// HMAC-SHA256 (RFC 2104): a 32-byte tag of `message` under `key`.
public enum HMACSHA256 {
    public static let tagBytes = 32

    /// The tag of the concatenation of `parts` (no copy of them joined).
    public static func tag(key: [UInt8], _ parts: [UInt8]...) -> [UInt8] {
        tag(key: key, parts: parts)
    }

    public static func tag(key: [UInt8], parts: [[UInt8]]) -> [UInt8] {
        var k = key.count > 64 ? SHA256.digest(key) : key
        k += [UInt8](repeating: 0, count: 64 - k.count)
        var inner = SHA256()
        inner.update(k.map { $0 ^ 0x36 })
        for p in parts { inner.update(p) }
        var outer = SHA256()
        outer.update(k.map { $0 ^ 0x5c })
        outer.update(inner.finalize())
        return outer.finalize()
    }

    /// Whether `a` and `b` are equal, in time that depends on their length only.
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var d: UInt8 = 0
        for (x, y) in zip(a, b) { d |= x ^ y }
        return d == 0
    }
}
