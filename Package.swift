// swift-tools-version:6.2
import PackageDescription

// Module layout and import rules: ../shared/DESIGN.md §2. Arrows point one way.
let strict: [SwiftSetting] = [.treatAllWarnings(as: .error)]

let package = Package(
    name: "Amalgam",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "amalgam", targets: ["amalgam"]),
        .executable(name: "amalgam-bench", targets: ["amalgam-bench"]),
        .library(name: "Tensors", targets: ["Tensors"]),
        // For tools/fuzz, a package of its own that reaches the parsers through these products.
        .library(name: "Merging", targets: ["Merging"]),
        .library(name: "Inference", targets: ["Inference"]),
        .library(name: "Search", targets: ["Search"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CPostgres",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .target(name: "Tensors", dependencies: ["CBLAS"], swiftSettings: strict),
        .target(name: "Merging", dependencies: ["Tensors", "CBLAS", "Yams"], swiftSettings: strict),
        .target(name: "Inference", dependencies: ["Tensors", "CBLAS"], swiftSettings: strict),
        .target(name: "Fitness", dependencies: ["Inference", "Tensors", "Yams"], swiftSettings: strict),
        .target(name: "Search", dependencies: ["Merging", "Tensors", "CBLAS", "Yams"], swiftSettings: strict),
        .target(name: "Archive", dependencies: ["CSQLite", "CPostgres"], swiftSettings: strict),
        .target(
            name: "Engine",
            dependencies: ["Tensors", "Merging", "Inference", "Fitness", "Search", "Archive"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "amalgam",
            dependencies: [
                "Tensors",
                "Merging",
                "Inference",
                "Fitness",
                "Search",
                "Archive",
                "Engine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "amalgam-bench",
            dependencies: [
                "Tensors",
                "Merging",
                "Inference",
                "Fitness",
                "Search",
                "Archive",
                "Engine",
                "CBLAS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/amalgam-bench",
            swiftSettings: strict
        ),
        .testTarget(
            name: "TensorsTests",
            dependencies: ["Tensors", "CBLAS", "CSQLite"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "MergingTests",
            dependencies: ["Merging", "Tensors"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "InferenceTests",
            dependencies: ["Inference", "Tensors"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "FitnessTests",
            dependencies: ["Fitness", "Inference", "Tensors"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "SearchTests",
            dependencies: ["Search", "Merging", "Tensors"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "ArchiveTests",
            dependencies: ["Archive"]
        ),
        .testTarget(
            name: "EngineTests",
            dependencies: ["Engine", "Search", "Merging", "Inference", "Archive", "Tensors"]
        ),
        .testTarget(
            name: "AmalgamCLITests",
            dependencies: ["Tensors", "Archive"],
            exclude: ["Snapshots"]
        ),
    ]
)
