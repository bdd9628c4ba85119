import CBLAS

/// OpenBLAS's thread count, which is process-wide: set it once, before any worker starts
/// (DESIGN.md §4: workers × BLAS threads ≤ cores, fixed for the run and recorded).
public enum BLASThreads {
    public static var current: Int { Int(openblas_get_num_threads()) }

    public static func set(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }
}
