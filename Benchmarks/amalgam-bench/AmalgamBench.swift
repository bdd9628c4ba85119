import ArgumentParser
import Tensors

/// Benchmarks that print ratios measured in the same run (DESIGN.md §5). Each subcommand ends
/// with one JSON summary line; none of them is a test and none asserts on time.
@main
struct AmalgamBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "amalgam-bench",
        abstract: "Measure Amalgam against this machine's own limits and against its peers.",
        subcommands: [IOBenchmark.self, MergeBenchmark.self, EvalBenchmark.self, OptimizersBenchmark.self, SearchBenchmark.self, SearchScaleBenchmark.self]
    )

    static func main() {
        BLASKernels.ensureNativeKernels()
        print("OpenBLAS kernels: \(BLASKernels.coreName)")
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
