import Foundation

/// Number and size formatting for people reading a terminal or a benchmark log: digit by digit,
/// never through Foundation's locale-dependent `String(format:)`, so a figure reads the same on
/// every machine.
public enum Format {
    /// `1234567` → `1,234,567 (1.23M)`; small counts stay plain.
    public static func count(_ n: Int) -> String {
        var digits = String(n)
        var groups: [String] = []
        while digits.count > 3 {
            groups.insert(String(digits.suffix(3)), at: 0)
            digits.removeLast(3)
        }
        groups.insert(digits, at: 0)
        let grouped = groups.joined(separator: ",")
        let scales: [(Double, String)] = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")]
        guard let (scale, suffix) = scales.first(where: { Double(n) >= $0.0 * 10 }) else { return grouped }
        return grouped + " (" + fixed(Double(n) / scale, digits: 2) + suffix + ")"
    }

    /// Decimal units, as disk sizes are quoted: `1.23 GB`.
    public static func bytes(_ n: Int) -> String {
        let units: [(Double, String)] = [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")]
        guard let (scale, unit) = units.first(where: { Double(n) >= $0.0 }) else { return "\(n) B" }
        return fixed(Double(n) / scale, digits: 2) + " " + unit
    }

    /// `value` with exactly `digits` decimals, without Foundation's locale-dependent formatting.
    ///
    /// Special values print as `inf`, `-inf` and `nan` (an infinite perplexity is a legitimate
    /// score); a value too large to scale into an `Int` at that precision (|value| · 10^digits ≥ 2⁶³)
    /// prints in Swift's shortest round-trip form, such as `1e+30`.
    public static func fixed(_ value: Double, digits: Int) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let magnitude = (abs(value) * scale).rounded()
        guard magnitude < 0x1p63 else { return String(value) }
        let scaled = Int(magnitude)
        let whole = String(scaled / Int(scale))
        guard digits > 0 else { return (value < 0 ? "-" : "") + whole }
        let fraction = String(scaled % Int(scale))
        return (value < 0 ? "-" : "") + whole + "." + String(repeating: "0", count: digits - fraction.count) + fraction
    }

    /// `fixed` with a sign always written: `+0.047`, `-1.2`, `+0.0` (C's `%+.Nf`).
    public static func signed(_ value: Double, digits: Int) -> String {
        let text = fixed(value, digits: digits)
        return text.hasPrefix("-") || value.isNaN ? text : "+" + text
    }

    /// Scientific notation with `digits` decimals in the mantissa, as C's `%.Ne`: `1.2e+06`,
    /// `3.45e-07`, `0.0e+00`; `inf`, `-inf`, `nan` as `fixed` writes them.
    public static func scientific(_ value: Double, digits: Int) -> String {
        guard value.isFinite else { return fixed(value, digits: digits) }
        guard value != 0 else { return fixed(0, digits: digits) + "e+00" }
        var exponent = Int((log10(abs(value))).rounded(.down))
        var mantissa = fixed(value / pow(10, Double(exponent)), digits: digits)
        // Rounding can carry the mantissa to 10 (9.96 → 10.0): one more power of ten.
        if mantissa.hasPrefix("10") || mantissa.hasPrefix("-10") {
            exponent += 1
            mantissa = fixed(value / pow(10, Double(exponent)), digits: digits)
        }
        return mantissa + "e" + (exponent < 0 ? "-" : "+") + (abs(exponent) < 10 ? "0" : "") + String(abs(exponent))
    }

    public static func fileName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}

extension String {
    /// Spaces after the text up to `width` characters (a left-aligned table column).
    public func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    /// Spaces before the text up to `width` characters (a right-aligned table column, C's `%Nd`).
    public func padding(toLeft width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
