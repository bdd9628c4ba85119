/// Parses a size such as `5GB`, `512MiB`, `1.5GB`, `5B` or `1000000`.
///
/// Decimal units (kB/KB, MB, GB, TB: powers of 1000), binary units (KiB, MiB, GiB, TiB: powers of
/// 1024), and mergekit's `--max-shard-size` suffixes K, M, B (thousand, million, billion, so
/// mergekit's default `5B` equals `5GB`). Case-insensitive except that a bare number is bytes.
/// Returns nil for anything else, or for zero, negative or overflowing sizes.
public func parseByteCount(_ text: String) -> Int? {
    let trimmed = text.trimmingWhitespace()
    let digits = trimmed.prefix { $0.isNumber || $0 == "." }
    let unit = trimmed.dropFirst(digits.count).trimmingWhitespace().lowercased()
    let multipliers: [String: Double] = [
        "": 1, "b": 1e9, "k": 1e3, "m": 1e6, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
        "kib": 1024, "mib": 1_048_576, "gib": 1_073_741_824, "tib": 1_099_511_627_776,
    ]
    guard !digits.isEmpty, let number = Double(digits), let multiplier = multipliers[unit] else { return nil }
    let bytes = (number * multiplier).rounded()
    guard bytes >= 1, bytes < 9e18 else { return nil }
    return Int(bytes)
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
