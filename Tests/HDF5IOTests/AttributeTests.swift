// Attributes on files, groups and datasets.

import HDF5IO
import XCTest

final class AttributeTests: HDF5TestCase {
    func testScalarsArraysAndStringsOnEveryObject() throws {
        let path = temporaryPath()
        do {
            let h5 = try HDF5File.create(path)
            let group = try h5.createGroup("g")
            let dataset = try group.createDataset("d", values: [Float(1), 2])
            for object in [h5, group, dataset] as [HDF5Object] {
                try object.setAttribute("version", to: 3)
                try object.setAttribute("scale", to: Float(0.5))
                try object.setAttribute("mean", to: [Double(0.485), 0.456, 0.406])
                try object.setAttribute("model", to: "deit_tiny_patch16_224")
                try object.setAttribute("labels", to: ["cat", "dog", "ünï"])
                try object.setAttribute("bytes", to: [UInt8](0...255))
            }
        }
        let h5 = try HDF5File.open(path)
        for object in [h5, try h5.openGroup("g"), try h5.openDataset("g/d")] as [HDF5Object] {
            XCTAssertEqual(try object.attributeNames(), ["bytes", "labels", "mean", "model", "scale", "version"])
            XCTAssertEqual(try object.attribute("version", as: Int.self), 3)
            XCTAssertEqual(try object.attributeType("version"), .int64)
            XCTAssertEqual(try object.attribute("scale", as: Float.self), 0.5)
            XCTAssertEqual(try object.attributeValues("mean", as: Double.self), [0.485, 0.456, 0.406])
            XCTAssertEqual(try object.attribute("model", as: String.self), "deit_tiny_patch16_224")
            XCTAssertEqual(try object.attributeValues("labels", as: String.self), ["cat", "dog", "ünï"])
            XCTAssertEqual(try object.attributeValues("bytes", as: UInt8.self), [UInt8](0...255))
            XCTAssertTrue(try object.hasAttribute("model"))
            XCTAssertFalse(try object.hasAttribute("nope"))
        }
    }

    func testReplaceRemoveAndErrors() throws {
        let h5 = try HDF5File.create(temporaryPath())
        try h5.setAttribute("x", to: Int16(1))
        try h5.setAttribute("x", to: "now a string")
        XCTAssertEqual(try h5.attribute("x", as: String.self), "now a string")
        try h5.setAttribute("empty", to: [Int32]())
        XCTAssertEqual(try h5.attributeValues("empty", as: Int32.self), [])
        try h5.removeAttribute("x")
        XCTAssertFalse(try h5.hasAttribute("x"))
        XCTAssertThrowsError(try h5.removeAttribute("x")) { XCTAssertEqual(($0 as? HDF5Error)?.kind, .notFound) }
        XCTAssertThrowsError(try h5.attribute("x", as: Int16.self)) { error in
            XCTAssertEqual((error as? HDF5Error)?.kind, .notFound)
            XCTAssertTrue("\(error)".hasSuffix(": /: cannot read attribute \"x\": no such attribute"), "\(error)")
        }
        try h5.setAttribute("pair", to: [Int16(1), 2])
        XCTAssertThrowsError(try h5.attribute("pair", as: Int16.self)) {
            XCTAssertEqual(($0 as? HDF5Error)?.kind, .shapeMismatch)
        }
        XCTAssertThrowsError(try h5.attributeValues("pair", as: Float.self)) {
            XCTAssertEqual(($0 as? HDF5Error)?.kind, .typeMismatch)
        }
        XCTAssertEqual(try h5.attributeValues("pair", as: Float.self, converting: true), [1, 2])
        XCTAssertThrowsError(try h5.attribute("pair", as: String.self)) {
            XCTAssertEqual(($0 as? HDF5Error)?.kind, .typeMismatch)
        }
    }
}
