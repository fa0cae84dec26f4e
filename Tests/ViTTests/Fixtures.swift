import Foundation
import Tensors
import XCTest

/// The repository root, found from this file's path.
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A reference case made by `Scripts/make_vit_fixtures.py` (timm, float64).
struct VitFixture {
    let name: String
    var dir: URL { repoRoot.appendingPathComponent("Tests/Fixtures/vit/\(name)") }
    func path(_ file: String) -> String { dir.appendingPathComponent(file).path }
    func tensor(_ file: String) throws -> Tensor { try NPY.readTensor(path(file)) }
    func rows(_ file: String) throws -> [[Int]] {
        let a = try NPY.read(path(file))
        let k = a.shape[1]
        return (0..<a.shape[0]).map { i in (0..<k).map { Int(a.values[i * k + $0]) } }
    }
    /// The plain ViTs (class token only).
    static let plain = ["tiny3", "p196", "wide"].map(VitFixture.init)
    /// A distilled DeiT (class and distillation tokens, two heads).
    static let distilled = VitFixture(name: "distilled")
    /// A ViT with 4 register tokens and a position embedding for the patches only (no transformers layout).
    static let registers = VitFixture(name: "reg4")
    /// Every case; the first two are tiny3 and p196.
    static let all = plain + [distilled, registers]
    /// The cases with a transformers-layout copy (`model_hf.safetensors`).
    static let withTransformersLayout = plain + [distilled]
}

/// Asserts |actual - expected| <= atol + rtol·|expected| elementwise, reporting the largest difference.
func assertClose(_ actual: Tensor, _ expected: Tensor, atol: Float = 0, rtol: Float = 0, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.shape, expected.shape, "\(what): shape", file: file, line: line)
    guard actual.shape == expected.shape else { return }
    var worst: Float = 0, worstIndex = 0, ok = true
    for i in 0..<actual.count {
        let diff = abs(actual.scalars[i] - expected.scalars[i])
        if diff > atol + rtol * abs(expected.scalars[i]) { ok = false }
        if diff > worst { worst = diff; worstIndex = i }
    }
    if ProcessInfo.processInfo.environment["SEMCOM_VERBOSE"] != nil { print("\(what): largest difference \(worst)") }
    XCTAssertTrue(ok, "\(what): largest difference \(worst) at \(worstIndex) (atol \(atol), rtol \(rtol))", file: file, line: line)
}
