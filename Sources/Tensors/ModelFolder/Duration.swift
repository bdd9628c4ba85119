import Foundation

/// `90`, `90s`, `30m`, `2h`, `1.5h` → seconds; nil for anything else, non-positive, or longer
/// than `maximumDuration` (a bound that keeps every duration printable as whole seconds).
public func parseDuration(_ text: String) -> Double? {
    let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
    var body = Substring(text.trimmingCharacters(in: .whitespaces))
    var unit = 1.0
    if let last = body.last, let scale = units[last] {
        unit = scale
        body = body.dropLast()
    }
    guard let value = Double(body), value > 0, value.isFinite, value * unit <= maximumDuration else { return nil }
    return value * unit
}

/// The longest duration `parseDuration` accepts: 100 Julian years, in seconds.
public let maximumDuration = 100 * 365.25 * 86400.0

/// Seconds as the shortest duration text `parseDuration` reads back: `7200` → `2h`, `90` → `90s`,
/// `1800` → `30m`, `1.5` → `1.5s` (and any other value, however large, as seconds).
public func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, abs(seconds) < 1e15 else { return "\(seconds)s" }
    for (scale, unit) in [(86400.0, "d"), (3600, "h"), (60, "m")] where seconds >= scale && seconds.truncatingRemainder(dividingBy: scale) == 0 {
        return "\(Int(seconds / scale))\(unit)"
    }
    if seconds == seconds.rounded() { return "\(Int(seconds))s" }
    return "\(seconds)s"
}
