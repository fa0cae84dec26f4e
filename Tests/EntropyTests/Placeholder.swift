import XCTest
@testable import Entropy
final class EntropyPlaceholderTests: XCTestCase { func testNothing() {} }
