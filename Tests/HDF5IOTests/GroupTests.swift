// Files and groups: modes, nested creation, listing, existence, removal, close.

import HDF5IO
import XCTest

final class GroupTests: HDF5TestCase {
    func testRequireGroupCreatesIntermediatesAndReopens() throws {
        let h5 = try HDF5File.create(temporaryPath())
        let tiny = try h5.requireGroup("runs/tiny")
        XCTAssertEqual(tiny.path, "/runs/tiny")
        try tiny.createDataset("logits", values: [Float(1)])
        let again = try h5.requireGroup("/runs/tiny/")
        XCTAssertEqual(try again.members(), ["logits"])
        XCTAssertEqual(try h5.members(), ["runs"])
        XCTAssertEqual(try h5.openGroup("runs").members(), ["tiny"])
        XCTAssertEqual(try h5.kind(of: "runs"), .group)
        XCTAssertEqual(try h5.kind(of: "runs/tiny/logits"), .dataset)
        XCTAssertNil(try h5.kind(of: "runs/small"))
    }

    func testContainsNeverFailsOnMissingPaths() throws {
        let h5 = try HDF5File.create(temporaryPath())
        let group = try h5.createGroup("a/b")
        try group.createDataset("c", values: [UInt8(1)])
        XCTAssertTrue(try h5.contains("a"))
        XCTAssertTrue(try h5.contains("/a/b/c"))
        XCTAssertTrue(try group.contains("c"))
        XCTAssertTrue(try group.contains("/a"))
        XCTAssertTrue(try h5.contains("/"))
        XCTAssertFalse(try h5.contains("x"))
        XCTAssertFalse(try h5.contains("x/y/z"))
        XCTAssertFalse(try h5.contains("a/b/c/d"), "below a dataset")
    }

    func testCreateGroupRefusesExistingAndRequireRefusesDataset() throws {
        let h5 = try HDF5File.create(temporaryPath())
        try h5.createGroup("g")
        try h5.createDataset("d", values: [Int8(1)])
        XCTAssertThrowsError(try h5.createGroup("g")) { XCTAssertEqual(($0 as? HDF5Error)?.kind, .alreadyExists) }
        XCTAssertThrowsError(try h5.requireGroup("d")) { XCTAssertEqual(($0 as? HDF5Error)?.kind, .typeMismatch) }
        XCTAssertThrowsError(try h5.openDataset("g")) { XCTAssertEqual(($0 as? HDF5Error)?.kind, .typeMismatch) }
        XCTAssertThrowsError(try h5.createDataset("d", of: Float.self, shape: [1])) {
            XCTAssertEqual(($0 as? HDF5Error)?.kind, .alreadyExists)
        }
    }

    func testRemove() throws {
        let h5 = try HDF5File.create(temporaryPath())
        try h5.createDataset("g/d", values: [Int8(1)])
        try h5.remove("g/d")
        XCTAssertFalse(try h5.contains("g/d"))
        XCTAssertTrue(try h5.contains("g"))
        XCTAssertThrowsError(try h5.remove("g/d")) { XCTAssertEqual(($0 as? HDF5Error)?.kind, .notFound) }
    }

    func testFileModes() throws {
        let path = temporaryPath()
        try HDF5File.create(path).createDataset("x", values: [Int32(1)])
        XCTAssertThrowsError(try HDF5File.create(path, mode: .failIfExists)) {
            XCTAssertEqual(($0 as? HDF5Error)?.kind, .alreadyExists)
        }
        let readOnly = try HDF5File.open(path)
        XCTAssertFalse(readOnly.isWritable)
        XCTAssertThrowsError(try readOnly.createGroup("g")) { error in
            XCTAssertEqual((error as? HDF5Error)?.kind, .library)
            XCTAssertNotNil((error as? HDF5Error)?.hdf5Message, "\(error)")
        }
        readOnly.close()
        let writable = try HDF5File.open(path, mode: .readWrite)
        XCTAssertTrue(writable.isWritable)
        try writable.openDataset("x").write([Int32(2)])
        try writable.flush()
        writable.close()
        XCTAssertEqual(try HDF5File.open(path).openDataset("x").read(as: Int32.self).values, [2])
        try HDF5File.create(path).flush()  // truncates
        XCTAssertEqual(try HDF5File.open(path).members(), [])
    }

    func testOpenOrCreateAndURLs() throws {
        let url = directory.appendingPathComponent("cache.h5")
        do {
            let h5 = try HDF5File.openOrCreate(url.path)
            XCTAssertTrue(h5.isWritable)
            try h5.createDataset("a", values: [Int8(1)])
        }
        do {
            let h5 = try HDF5File.openOrCreate(url.path)
            XCTAssertTrue(h5.isWritable)
            XCTAssertEqual(try h5.members(), ["a"], "reopened, not truncated")
            try h5.createDataset("b", values: [Int8(2)])
        }
        XCTAssertEqual(try HDF5File.open(url).members(), ["a", "b"])
        XCTAssertEqual(try HDF5File.create(url).members(), [])
    }

    func testCloseClosesObjectsAndAllowsReopening() throws {
        let path = temporaryPath()
        let h5 = try HDF5File.create(path)
        let dataset = try h5.createDataset("x", values: [Int32(1), 2])
        let group = try h5.createGroup("g")
        h5.close()
        XCTAssertFalse(h5.isOpen)
        XCTAssertFalse(dataset.isOpen)
        XCTAssertThrowsError(try dataset.read(as: Int32.self)) { XCTAssertEqual(($0 as? HDF5Error)?.kind, .closed) }
        XCTAssertThrowsError(try group.members()) { XCTAssertEqual(($0 as? HDF5Error)?.kind, .closed) }
        XCTAssertThrowsError(try h5.members()) { XCTAssertEqual(($0 as? HDF5Error)?.kind, .closed) }
        h5.close()
        // The file is really closed: it can be opened read-write again.
        let reopened = try HDF5File.open(path, mode: .readWrite)
        XCTAssertEqual(try reopened.openDataset("x").read(as: Int32.self).values, [1, 2])
    }

    func testDatasetOutlivesItsFileObject() throws {
        let path = temporaryPath()
        try HDF5File.create(path).createDataset("x", values: [Int32(5)])
        let dataset = try HDF5File.open(path).openDataset("x")
        XCTAssertEqual(try dataset.read(as: Int32.self).values, [5])
    }
}
