import XCTest
@testable import Safety

/// SHA-256 against FIPS 180-2's examples, and the hardware blocks (x86 SHA
/// extensions) against the portable function on random messages of every
/// length around the block size, fed whole and in random pieces.
final class SHA256Tests: XCTestCase {
    func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }

    func digest(_ bytes: [UInt8], hardware: Bool, pieces: [Int] = []) -> [UInt8] {
        var h = SHA256()
        h.useHardware = hardware
        var at = 0
        for n in pieces where at + n <= bytes.count { h.update(bytes[at..<at + n]); at += n }
        h.update(bytes[at...])
        return h.finalize()
    }

    func testFIPSExamples() {
        for hardware in [false, true] where !hardware || SHA256.hardwareAvailable {
            XCTAssertEqual(hex(digest(Array("abc".utf8), hardware: hardware)),
                           "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
            XCTAssertEqual(hex(digest([], hardware: hardware)),
                           "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
            XCTAssertEqual(hex(digest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8), hardware: hardware)),
                           "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
            XCTAssertEqual(hex(digest([UInt8](repeating: 0x61, count: 1_000_000), hardware: hardware, pieces: [1, 63, 64, 65, 4096])),
                           "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        }
    }

    func testHardwareAgreesWithThePortableFunction() throws {
        try XCTSkipUnless(SHA256.hardwareAvailable, "this CPU has no SHA extensions")
        var rng = SystemRandomNumberGenerator()
        for length in Array(0...200) + [1000, 4095, 4096, 4097, 100_000] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let pieces = (0..<5).map { _ in Int.random(in: 0...130, using: &rng) }
            let portable = digest(bytes, hardware: false)
            XCTAssertEqual(digest(bytes, hardware: true), portable, "length \(length)")
            XCTAssertEqual(digest(bytes, hardware: true, pieces: pieces), portable, "length \(length) in pieces \(pieces)")
        }
    }
}
