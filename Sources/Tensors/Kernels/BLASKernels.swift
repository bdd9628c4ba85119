import CBLAS
import Foundation

/// OpenBLAS picks its kernels for the CPU when it loads. Debian 12's OpenBLAS 0.3.21 does not
/// recognise CPUs newer than itself (this machine's, with AVX-512 FP16, among them) and falls
/// back to its Prescott (SSE3) kernels: sgemm runs ~4× slower (35 against 148 GFLOP/s on two
/// cores here). Its DYNAMIC_ARCH build reads `OPENBLAS_CORETYPE` only at load time, so when the
/// detected core is such a fallback and the CPU has AVX-512 (or AVX2), the process sets the
/// variable to the newest kernel family the CPU runs (SkylakeX, or Haswell) and executes itself
/// again, once. A user's own `OPENBLAS_CORETYPE` is always left alone.
public enum BLASKernels {
    /// The kernel family OpenBLAS chose (`SkylakeX`, `Haswell`, `Prescott`, …).
    public static var coreName: String { openblas_get_corename().map { String(cString: $0) } ?? "?" }

    /// Fallback cores OpenBLAS reports for a CPU it does not know.
    static let fallbacks: Set<String> = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Sandybridge", "Katmai", "Coppermine", "Northwood", "Banias"]

    /// The kernel family for the CPU's features, from /proc/cpuinfo's flags.
    static func preferredCore() -> String? {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        let flags = Set(line.split(separator: " ").map(String.init))
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"]) { return "SkylakeX" }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }

    /// Call first thing in `main`: returns when OpenBLAS's kernels are right (or cannot be bettered),
    /// otherwise re-executes the program with `OPENBLAS_CORETYPE` set and does not return.
    public static func ensureNativeKernels() {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil, fallbacks.contains(coreName),
              let core = preferredCore() else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // execv returned: it failed; go on with the fallback kernels.
        unsetenv("OPENBLAS_CORETYPE")
    }
}
