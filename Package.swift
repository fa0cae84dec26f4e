// swift-tools-version:6.0
import Foundation
import PackageDescription

// No unsafe flags: a package that depends on this one builds it for its
// platform's baseline. `make release` (and `make demo`) compile for AVX2 + FMA
// on x86-64, 5-20 % faster (README, "Speed").
let package = Package(
    name: "semcom",
    platforms: [.macOS(.v15)],  // Synchronization (Atomic, Mutex) needs macOS 15; Linux has it
    products: [
        .executable(name: "semcom", targets: ["semcom"]),
        // `import SemComKit` for everything (not `SemCom`: that would differ from the
        // executable `semcom` only in case); or the modules one by one.
        .library(name: "SemComKit", targets: ["SemComKit"]),
    ] + ["Safety", "Tensors", "Attention", "Entropy", "ViT", "Imaging", "Wire", "HDF5IO", "Collaborative", "Link", "Figures", "Repl", "ExperimentScripts"].map {
        .library(name: $0, targets: [$0])
    },
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `swift package generate-documentation` (the DocC catalog in Sources/SemComKit).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
        // `semcom serve` and `semcom edge` (the Link module): TCP with SwiftNIO, logs with swift-log.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
    ],
    targets: [
        // MARK: C libraries from Debian packages (pkg-config), behind thin system-library targets
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg62-turbo-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CEditLine", pkgConfig: "libedit", providers: [.apt(["libedit-dev"])]),

        // MARK: Implementation details
        // The JPEG and PNG decoders run in C: libjpeg/libpng report errors by
        // longjmp, which must never cross Swift frames.
        .target(name: "CImagingCodecs", dependencies: ["CJPEG", "CPNG"]),
        // SHA-256 blocks with the x86 SHA extensions (Safety.SHA256 falls back to Swift without them).
        .target(name: "CSHA256"),

        // MARK: Library modules
        .target(name: "Safety", dependencies: ["CSHA256"]),
        .target(name: "Tensors", dependencies: ["COpenBLAS", "Safety"]),
        .target(name: "Attention", dependencies: ["Tensors", "Safety"]),
        .target(name: "Entropy", dependencies: ["Safety"]),
        .target(name: "ViT", dependencies: ["Tensors", "Safety"]),
        .target(name: "Imaging", dependencies: ["CImagingCodecs", "CPNG", "Safety"]),
        .target(name: "HDF5IO", dependencies: ["CHDF5"]),
        // The wire format (docs/wire.md): frames, patch indices, the raw and JPEG codecs.
        .target(name: "Wire", dependencies: ["Imaging", "Safety"]),
        .target(name: "Collaborative", dependencies: ["Safety", "Tensors", "ViT", "Imaging", "Attention", "Entropy", "HDF5IO", "Wire"]),
        // The live edge and server over TCP (docs/wire.md, "The link"): frames authenticated
        // per frame with a pre-shared key, requests batched by k, Algorithm 1 for real.
        .target(name: "Link", dependencies: [
            "Safety", "Tensors", "ViT", "Imaging", "Attention", "Entropy", "Wire", "Collaborative",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: [.swiftLanguageMode(.v5)]),  // NIO's handlers live on their event loop; v5 keeps them plain classes
        .target(name: "Figures", dependencies: ["Imaging", "Safety"]),
        .target(name: "SemComKit", dependencies: ["Safety", "Tensors", "Attention", "Entropy", "ViT", "Imaging", "Wire", "HDF5IO", "Collaborative", "Link", "Figures", "Repl", "ExperimentScripts"]),
        .target(name: "Repl", dependencies: ["Safety", "Collaborative", "Figures", "Entropy", "Attention", "ViT", "HDF5IO", "Imaging", "Wire", "CEditLine"]),
        // Experiments/*.semcom compiled in (`Experiments.bundled`), so that the scripts travel with the tool.
        // Its own target: the fuzz harnesses, built with -sanitize=fuzzer, must not build the plugin's tool.
        .target(name: "ExperimentScripts", plugins: ["EmbedExperiments"]),

        // MARK: The command-line tool (thin: parses arguments, calls the modules)
        .executableTarget(name: "semcom", dependencies: [
            "Safety", "Tensors", "ViT", "Imaging", "Wire", "Attention", "Entropy", "HDF5IO", "Collaborative", "Link", "Figures", "Repl", "ExperimentScripts",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // MARK: Build tools: Experiments/*.semcom compiled into ExperimentScripts
        .executableTarget(name: "EmbedScripts"),
        .plugin(name: "EmbedExperiments", capability: .buildTool(), dependencies: ["EmbedScripts"]),

        // MARK: Benchmarks (build with -c release)
        .executableTarget(name: "SweepBenchmark", dependencies: ["Collaborative", "Tensors", "ViT", "HDF5IO", "Entropy", "Attention", "Imaging"],
                          path: "Benchmarks/SweepBenchmark"),
        .executableTarget(name: "WireSizeCheck", dependencies: ["Collaborative", "Attention", "Imaging", "Wire"], path: "Benchmarks/WireSizeCheck"),

        // MARK: Tests, one target per module
        .testTarget(name: "SafetyTests", dependencies: ["Safety"]),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(name: "AttentionTests", dependencies: ["Attention", "Tensors"]),
        .testTarget(name: "EntropyTests", dependencies: ["Entropy"]),
        .testTarget(name: "ViTTests", dependencies: ["ViT", "Tensors", "Attention"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging"]),
        .testTarget(name: "HDF5IOTests", dependencies: ["HDF5IO"]),
        .testTarget(name: "WireTests", dependencies: ["Wire", "Imaging", "Tensors"]),
        .testTarget(name: "CollaborativeTests", dependencies: ["Collaborative", "ViT", "Tensors", "Imaging", "HDF5IO", "Attention", "Entropy", "Wire"]),
        .testTarget(name: "LinkTests", dependencies: ["Link", "Wire", "Collaborative", "Safety", "Imaging", "Tensors", "ViT",
                                                     .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                                                     .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "FiguresTests", dependencies: ["Figures", "Imaging"]),
        .testTarget(name: "ReplTests", dependencies: ["Repl", "Figures", "Collaborative", "ViT", "Tensors", "ExperimentScripts", "Wire"]),
        .testTarget(name: "semcomTests", dependencies: ["semcom", "HDF5IO", "Tensors", "Collaborative", "Imaging", "ExperimentScripts"]),
        .testTarget(name: "UmbrellaTests", dependencies: ["SemComKit"]),
    ],
    swiftLanguageModes: [.v6]
)

// libFuzzer harnesses (make fuzz): executables without a main of their own,
// linked only with --sanitize fuzzer, so they exist only when SEMCOM_FUZZ is set.
// Fuzz/NAME holds NAME.swift (not main.swift: no top-level code, libFuzzer has the main),
// the seed corpus and optionally `flags` (libFuzzer options); Fuzz/Support what they share.
if ProcessInfo.processInfo.environment["SEMCOM_FUZZ"] != nil {
    let harnesses: [(name: String, dependencies: [Target.Dependency])] = [
        ("safetensors", ["Tensors"]),
        ("npy", ["Tensors"]),
        ("jpeg", ["Imaging"]),
        ("png", ["Imaging"]),
        ("wire", ["Wire"]),
        ("link", ["Link", "Wire"]),
        ("csv", ["Collaborative"]),
        ("repl", ["Repl"]),
        ("cache", ["Collaborative", "HDF5IO", "Imaging", "Repl", "Attention", "Entropy", "ViT"]),
    ]
    // The plugin's tool, compiled with -sanitize=fuzzer, would have two mains; no harness needs its scripts.
    package.targets.first { $0.name == "ExperimentScripts" }?.plugins = []
    package.targets.append(.target(name: "FuzzSupport", dependencies: ["Imaging"], path: "Fuzz/Support"))
    for h in harnesses {
        package.targets.append(.executableTarget(name: "fuzz-\(h.name)", dependencies: h.dependencies + ["FuzzSupport"], path: "Fuzz/\(h.name)",
                                                 exclude: ["corpus", "flags"].filter { FileManager.default.fileExists(atPath: "\(Context.packageDirectory)/Fuzz/\(h.name)/\($0)") }))
        package.products.append(.executable(name: "fuzz-\(h.name)", targets: ["fuzz-\(h.name)"]))
    }
}
