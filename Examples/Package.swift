// swift-tools-version:6.0
import PackageDescription

// Three small programs that use semcom as a library (`import SemComKit`).
// From another package, depend on it by URL and version instead:
//   .package(url: "https://github.com/<owner>/semcom", from: "0.5.0")
// Build and check them with `make examples` from the repository root.
let package = Package(
    name: "semcom-examples",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "semcom", path: ".."),
    ],
    targets: [
        // (a) A selection rule of one's own, swept against the paper's attention-sum rule.
        .executableTarget(name: "new-rule", dependencies: [.product(name: "SemComKit", package: "semcom")], path: "Sources/NewRule"),
        // (b) An uncertainty measure of one's own, used as the gate.
        .executableTarget(name: "new-gate", dependencies: [.product(name: "SemComKit", package: "semcom")], path: "Sources/NewGate"),
        // (c) A model run on a folder of images, its results read as typed values.
        .executableTarget(name: "run-model", dependencies: [.product(name: "SemComKit", package: "semcom")], path: "Sources/RunModel"),
    ],
    swiftLanguageModes: [.v6]
)
