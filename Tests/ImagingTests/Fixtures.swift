import Foundation
import XCTest
@testable import Imaging

/// The repository root, found from this file's path (Tests/ImagingTests/...).
let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Tests/Fixtures/imaging, made by Scripts/make_imaging_fixtures.py.
let fixtureDirectory = repositoryRoot.appendingPathComponent("Tests/Fixtures/imaging")

/// shared/imagenet-sample beside the repository (absent on some machines).
let imagenetDirectory = repositoryRoot.appendingPathComponent("../shared/imagenet-sample").standardizedFileURL

func fixturePath(_ name: String) -> String {
    fixtureDirectory.appendingPathComponent(name).path
}

/// manifest.json: what each fixture is and which PIL produced the references.
struct FixtureManifest: Decodable {
    struct Crop: Decodable {
        let size: Int
        let crop_pct: Double
        let file: String
    }
    struct Case: Decodable {
        let name: String
        let file: String
        let pil_mode: String
        let width: Int
        let height: Int
        let rgb: String?
        let input: String?
        let crops: [Crop]
    }
    struct Resize: Decodable {
        let source: String
        let width: Int
        let height: Int
        let file: String
    }
    struct ImageNet: Decodable {
        let original: String
        let crop224: String
        let width: Int
        let height: Int
    }
    let pillow: String
    let libjpeg_turbo: String
    let cases: [Case]
    let resizes: [Resize]
    let imagenet: [ImageNet]

    static func load() throws -> FixtureManifest {
        let data = try Data(contentsOf: fixtureDirectory.appendingPathComponent("manifest.json"))
        return try JSONDecoder().decode(FixtureManifest.self, from: data)
    }
}

/// How closely two 8-bit images agree.
struct Agreement: CustomStringConvertible {
    let samples: Int
    let exactSamples: Int
    let maxDifference: Int
    var exactFraction: Double { Double(exactSamples) / Double(max(samples, 1)) }
    var description: String {
        String(format: "max |diff| %d, %.3f%% of %d samples exact", maxDifference, 100 * exactFraction, samples)
    }

    init(_ a: [UInt8], _ b: [UInt8]) {
        precondition(a.count == b.count, "sizes \(a.count) and \(b.count)")
        var exact = 0, worst = 0
        for (x, y) in zip(a, b) {
            let d = abs(Int(x) - Int(y))
            if d == 0 { exact += 1 }
            worst = max(worst, d)
        }
        samples = a.count
        exactSamples = exact
        maxDifference = worst
    }
}

/// An `RGBImage` from a uint8 H x W x 3 .npy fixture.
func rgbImage(npy name: String) throws -> RGBImage {
    let array = try NPYArray(contentsOf: fixturePath(name))
    precondition(array.shape.count == 3 && array.shape[2] == 3, "\(name): shape \(array.shape)")
    return RGBImage(width: array.shape[1], height: array.shape[0], pixels: array.uint8)
}

/// This process's folder for temporary test files.
let temporaryDirectory = FileManager.default.temporaryDirectory
    .appendingPathComponent("ImagingTests-\(ProcessInfo.processInfo.processIdentifier)")

/// Writes `bytes` to a new temporary file named `name` and returns its path;
/// `removeTemporaryFiles()` (in tearDown) deletes it.
func temporaryFile(_ name: String, _ bytes: [UInt8]) throws -> String {
    let directory = temporaryDirectory
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let url = directory.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url.path
}

func removeTemporaryFiles() {
    try? FileManager.default.removeItem(at: temporaryDirectory)
}
