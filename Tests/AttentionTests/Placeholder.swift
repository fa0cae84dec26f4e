import XCTest
@testable import Attention
final class AttentionPlaceholderTests: XCTestCase { func testNothing() {} }
