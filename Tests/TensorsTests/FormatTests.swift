import Testing
import Tensors

/// `Format.fixed` over the special values a score can take (an infinite perplexity is allowed by
/// Workbench), zero and −0, rounding, and magnitudes past Int's range, none of which may trap.
@Suite struct FormatTests {
    @Test func finiteValues() {
        #expect(Format.fixed(1.23456, digits: 4) == "1.2346")
        #expect(Format.fixed(-1.5, digits: 2) == "-1.50")
        #expect(Format.fixed(0.05, digits: 1) == "0.1")
        #expect(Format.fixed(0, digits: 3) == "0.000")
        #expect(Format.fixed(-0.0, digits: 3) == "0.000")
        #expect(Format.fixed(12.7, digits: 0) == "13")
        #expect(Format.fixed(-12.7, digits: 0) == "-13")
        #expect(Format.fixed(1234.5, digits: 1) == "1234.5")
    }

    @Test func specialValues() {
        #expect(Format.fixed(.infinity, digits: 4) == "inf")
        #expect(Format.fixed(-.infinity, digits: 4) == "-inf")
        #expect(Format.fixed(.nan, digits: 4) == "nan")
        #expect(Format.fixed(-.nan, digits: 0) == "nan")
        #expect(Format.fixed(.infinity, digits: 0) == "inf")
    }

    @Test func magnitudesPastIntRange() {
        #expect(Format.fixed(1e30, digits: 4) == "1e+30")
        #expect(Format.fixed(-1e300, digits: 1) == "-1e+300")
        #expect(Format.fixed(.greatestFiniteMagnitude, digits: 0) == String(Double.greatestFiniteMagnitude))
        #expect(Format.fixed(1e14, digits: 4) == "100000000000000.0000")
    }

    /// `signed` and `scientific` read as C's `%+.Nf` and `%.Ne` would print them.
    @Test func signedAndScientific() {
        #expect(Format.signed(0.047, digits: 3) == "+0.047")
        #expect(Format.signed(-1.25, digits: 1) == "-1.3")  // halves round away from zero
        #expect(Format.signed(0, digits: 1) == "+0.0")
        #expect(Format.signed(.nan, digits: 1) == "nan")
        #expect(Format.scientific(1_234_567, digits: 1) == "1.2e+06")
        #expect(Format.scientific(3.45e-7, digits: 2) == "3.45e-07")
        #expect(Format.scientific(9.96, digits: 1) == "1.0e+01")
        #expect(Format.scientific(-0.5, digits: 2) == "-5.00e-01")
        #expect(Format.scientific(0, digits: 1) == "0.0e+00")
        #expect(Format.scientific(1e-300, digits: 1) == "1.0e-300")
        #expect(Format.scientific(.infinity, digits: 1) == "inf")
    }

    @Test func countsAndBytes() {
        #expect(Format.count(999) == "999")
        #expect(Format.count(12_345_678) == "12,345,678 (12.35M)")
        #expect(Format.bytes(1_230_000_000) == "1.23 GB")
    }
}
