import CBLAS

/// The eigendecomposition of a real symmetric matrix through LAPACK's divide-and-conquer solver
/// `dsyevd` (OpenBLAS ships it). CMA-ES samples from N(m, σ² C) as m + σ B D z, so it needs
/// C = B D² Bᵀ; `dsyevd` is the routine pycma's `np.linalg.eigh` also ends up in.
enum SymmetricEigen {
    /// Eigenvalues in ascending order and the matching unit eigenvectors, column-major
    /// (`vectors[row + column * dimension]` is component `row` of eigenvector `column`).
    struct Decomposition {
        var values: [Double]
        var vectors: [Double]
    }

    /// Decomposes the symmetric `dimension × dimension` matrix `matrix` (one triangle is read; for
    /// a symmetric matrix row- and column-major coincide). Returns nil when LAPACK reports a
    /// failure or the result is not finite.
    static func decompose(_ matrix: [Double], dimension: Int) -> Decomposition? {
        guard dimension > 0, matrix.count == dimension * dimension else { return nil }
        var a = matrix
        var values = [Double](repeating: 0, count: dimension)
        var n = Int32(dimension), lda = Int32(dimension), info: Int32 = 0
        var jobz = CChar(UInt8(ascii: "V")), uplo = CChar(UInt8(ascii: "L"))
        // Workspace query first (lwork = liwork = −1), then the decomposition itself.
        var workSize = 0.0, iworkSize: Int32 = 0, query: Int32 = -1
        dsyevd_(&jobz, &uplo, &n, &a, &lda, &values, &workSize, &query, &iworkSize, &query, &info)
        guard info == 0 else { return nil }
        var lwork = Int32(workSize.rounded(.up)), liwork = iworkSize
        var work = [Double](repeating: 0, count: Int(max(lwork, 1)))
        var iwork = [Int32](repeating: 0, count: Int(max(liwork, 1)))
        dsyevd_(&jobz, &uplo, &n, &a, &lda, &values, &work, &lwork, &iwork, &liwork, &info)
        guard info == 0, values.allSatisfy(\.isFinite), a.allSatisfy(\.isFinite) else { return nil }
        return Decomposition(values: values, vectors: a)
    }
}
