import CBLAS
import CSQLite
import Testing
@testable import Tensors

/// The two C libraries link and answer: OpenBLAS (with its LAPACK) and SQLite.
@Suite struct SystemLibraryTests {
    @Test func openBLASComputesAndTakesAThreadCount() {
        let x: [Float] = [1, 2, 3], y: [Float] = [4, 5, 6]
        #expect(cblas_sdot(3, x, 1, y, 1) == 32)
        let before = BLASThreads.current
        BLASThreads.set(1)
        #expect(BLASThreads.current == 1)
        BLASThreads.set(before)
    }

    @Test func lapackEigendecomposition() {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3.
        var a: [Double] = [2, 1, 1, 2]
        var w = [Double](repeating: 0, count: 2)
        var n: Int32 = 2, lda: Int32 = 2, info: Int32 = 0
        var lwork: Int32 = 64, liwork: Int32 = 64
        var work = [Double](repeating: 0, count: 64)
        var iwork = [Int32](repeating: 0, count: 64)
        dsyevd_("V", "U", &n, &a, &lda, &w, &work, &lwork, &iwork, &liwork, &info)
        #expect(info == 0)
        #expect(abs(w[0] - 1) < 1e-12 && abs(w[1] - 3) < 1e-12)
    }

    @Test func sqliteOpensInMemory() {
        #expect(sqlite3_libversion_number() >= 3_040_000)
        var db: OpaquePointer?
        #expect(sqlite3_open(":memory:", &db) == SQLITE_OK)
        #expect(sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1);", nil, nil, nil) == SQLITE_OK)
        sqlite3_close(db)
    }
}
