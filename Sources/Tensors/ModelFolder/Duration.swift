import Foundation

/// `90`, `90s`, `30m`, `2h`, `1.5h` → seconds; nil for anything else or non-positive.
public func parseDuration(_ text: String) -> Double? {
    let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
    var body = Substring(text.trimmingCharacters(in: .whitespaces))
    var unit = 1.0
    if let last = body.last, let scale = units[last] {
        unit = scale
        body = body.dropLast()
    }
    guard let value = Double(body), value > 0, value.isFinite else { return nil }
    return value * unit
}
