// swift-tools-version:6.2
import PackageDescription

// libFuzzer targets for Amalgam's parsers of untrusted input (issue 10). A package of its own, so
// the main package never needs the fuzzer: build with `swift build -c release --sanitize=fuzzer`
// (run.sh does), each executable is a libFuzzer binary.
let strict: [SwiftSetting] = [.treatAllWarnings(as: .error)]

func fuzzTarget(_ name: String, _ products: [String]) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["FuzzSupport"] + products.map { .product(name: $0, package: "Amalgam") },
        swiftSettings: strict
    )
}

let package = Package(
    name: "AmalgamFuzz",
    dependencies: [.package(name: "Amalgam", path: "../..")],
    targets: [
        .target(name: "FuzzSupport", swiftSettings: strict),
        fuzzTarget("fuzz-safetensors", ["Tensors"]),
        fuzzTarget("fuzz-index", ["Tensors"]),
        fuzzTarget("fuzz-json", ["Tensors"]),
        fuzzTarget("fuzz-tokenizer", ["Tensors", "Inference"]),
        fuzzTarget("fuzz-recipe", ["Merging"]),
        fuzzTarget("fuzz-search-space", ["Search", "Merging", "Tensors"]),
    ]
)
