import Foundation
import XCTest
@testable import Imaging

/// The evaluation transform read from the files Hugging Face repositories ship beside the weights.
final class PreprocessingConfigTests: XCTestCase {
    var dir: URL!
    var weights: String { dir.appendingPathComponent("model.safetensors").path }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("semcom-ppcfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func write(_ name: String, _ json: String) throws {
        try json.write(to: dir.appendingPathComponent(name), atomically: false, encoding: .utf8)
    }

    func testTimmPretrainedCfg() throws {
        // As timm/deit_tiny_patch16_224.fb_in1k ships it (other fields left out).
        try write("config.json", """
            {"architecture": "deit_tiny_patch16_224", "num_classes": 1000, "pretrained_cfg": {"input_size": [3, 224, 224],
             "interpolation": "bicubic", "crop_pct": 0.9, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.5, 1], "classifier": "head"}}
            """)
        let p = try XCTUnwrap(Preprocessing.stated(besideWeights: weights))
        XCTAssertEqual(p, Preprocessing(size: 224, cropPct: 0.9, mean: SIMD3(0.5, 0.5, 0.5), std: SIMD3(0.25, 0.5, 1)))
    }

    func testTransformersPreprocessorConfig() throws {
        // As facebook/deit-tiny-patch16-224 ships it: a model-only config.json and the preprocessor's.
        try write("config.json", #"{"num_attention_heads": 3, "hidden_size": 192}"#)
        try write("preprocessor_config.json", """
            {"crop_size": {"height": 224, "width": 224}, "do_center_crop": true, "size": {"height": 256, "width": 256},
             "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225], "resample": 3}
            """)
        XCTAssertEqual(try Preprocessing.stated(besideWeights: weights), Preprocessing(size: 224, cropPct: 0.875))
    }

    func testNoConfigOrAModelOnlyConfigStatesNothing() throws {
        XCTAssertNil(try Preprocessing.stated(besideWeights: weights))
        try write("config.json", #"{"num_heads": 3}"#)
        XCTAssertNil(try Preprocessing.stated(besideWeights: weights))
    }

    func testUnusableFieldsAreErrorsNamingTheFileAndField() throws {
        let config = dir.appendingPathComponent("config.json").path
        for (json, fault) in [(#"{"interpolation": "bilinear", "crop_pct": 0.9}"#, "field 'interpolation' is bilinear; semcom implements bicubic only"),
                              (#"{"input_size": [3, 224, 200]}"#, "field 'input_size' is [3.0, 224.0, 200.0], expected [3, S, S]"),
                              (#"{"mean": [0.5, 0.5]}"#, "field 'mean' has 2 values, expected 3 (R, G, B)"),
                              (#"{"crop_pct": "0.9"}"#, "field 'crop_pct' is 0.9, not a number"),
                              (#"{"crop_pct": 0}"#, "crop_pct 0.0, expected [0.05, 1]"),
                              (#"{"std": [1, 0, 1]}"#, "std [1.0, 0.0, 1.0], expected finite numbers > 0"),
                              ("[1, 2]", "not a JSON object")] {
            try write("config.json", json)
            XCTAssertThrowsError(try Preprocessing.stated(besideWeights: weights), json) {
                XCTAssertEqual("\($0)", "\(config): \(fault)")
            }
        }
        try FileManager.default.removeItem(atPath: config)
        try write("preprocessor_config.json", #"{"crop_size": 224, "resample": 2}"#)
        XCTAssertThrowsError(try Preprocessing.stated(besideWeights: weights)) {
            XCTAssertTrue("\($0)".hasSuffix("preprocessor_config.json: field 'resample' is 2; semcom implements bicubic (3) only"), "\($0)")
        }
    }
}
