import Search
import Tensors

/// CMA-ES against pycma's figures (ANCHORS.md). Filled in by issue 5's CMA-ES work.
enum CMAESBenchmarkSuite {
    static func run(seeds: Int) -> [(String, JSONValue)] { [] }
}
