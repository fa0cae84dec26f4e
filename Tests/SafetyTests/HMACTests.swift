import XCTest
@testable import Safety

/// HMAC-SHA256 against RFC 4231's test vectors (cases 1, 2 and 6: a short key,
/// a text key, a key longer than SHA-256's 64-byte block).
final class HMACTests: XCTestCase {
    func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }

    func testRFC4231Vectors() {
        XCTAssertEqual(hex(HMACSHA256.tag(key: [UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8))),
                       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        XCTAssertEqual(hex(HMACSHA256.tag(key: Array("Jefe".utf8), Array("what do ya want for nothing?".utf8))),
                       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        XCTAssertEqual(hex(HMACSHA256.tag(key: [UInt8](repeating: 0xaa, count: 131),
                                          Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))),
                       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    func testPartsAreConcatenated() {
        let key = Array("k".utf8)
        XCTAssertEqual(HMACSHA256.tag(key: key, [1, 2], [], [3]), HMACSHA256.tag(key: key, [1, 2, 3]))
        XCTAssertNotEqual(HMACSHA256.tag(key: key, [1, 2, 3]), HMACSHA256.tag(key: key, [1, 2, 4]))
        XCTAssertTrue(HMACSHA256.equal([1, 2], [1, 2]))
        XCTAssertFalse(HMACSHA256.equal([1, 2], [1, 3]))
        XCTAssertFalse(HMACSHA256.equal([1, 2], [1, 2, 3]))
    }
}
