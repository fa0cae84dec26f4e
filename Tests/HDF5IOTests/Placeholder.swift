import XCTest
@testable import HDF5IO
final class HDF5IOPlaceholderTests: XCTestCase { func testNothing() {} }
