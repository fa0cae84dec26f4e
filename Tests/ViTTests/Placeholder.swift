import XCTest
@testable import ViT
final class ViTPlaceholderTests: XCTestCase { func testNothing() {} }
