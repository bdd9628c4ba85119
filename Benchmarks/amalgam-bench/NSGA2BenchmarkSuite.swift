import Search
import Tensors

/// NSGA-II against pymoo's figures (ANCHORS.md). Filled in by issue 5's NSGA-II work.
enum NSGA2BenchmarkSuite {
    static func run(seeds: Int) -> [(String, JSONValue)] { [] }
}
