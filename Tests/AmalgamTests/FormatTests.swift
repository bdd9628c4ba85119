import Testing
@testable import amalgam

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

    @Test func countsAndBytes() {
        #expect(Format.count(999) == "999")
        #expect(Format.count(12_345_678) == "12,345,678 (12.35M)")
        #expect(Format.bytes(1_230_000_000) == "1.23 GB")
    }
}
