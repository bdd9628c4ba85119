/// One scalar a recipe parameter can hold.
public enum ParameterScalar: Sendable, Equatable {
    case number(Double)
    case bool(Bool)
    case string(String)
}

/// A parameter's value in a recipe, as mergekit's `ParameterSetting`: a scalar, a list (a gradient
/// when numeric), or filter entries (`[{filter: self_attn, value: 0.3}, {value: 0.7}]`) whose
/// first match by substring of the tensor name wins.
public indirect enum ParameterSetting: Sendable, Equatable {
    case scalar(ParameterScalar)
    case list([ParameterScalar])
    case filtered([FilteredValue])

    public struct FilteredValue: Sendable, Equatable {
        /// Substring of the tensor name; nil or `*` matches every tensor.
        public var filter: String?
        /// A scalar or a list, never nested filters.
        public var value: ParameterSetting

        public init(filter: String?, value: ParameterSetting) {
            self.filter = filter
            self.value = value
        }
    }

    /// The value for `tensorName` at position `t` ∈ [0, 1] of its slice, exactly as mergekit's
    /// `evaluate_setting` resolves it: a numeric list interpolates linearly between neighbouring
    /// entries (`scaled = t·(n−1)`, `i0 = ⌊scaled⌋`, `i1 = min(n−1, i0+1)`); a list holding any
    /// non-number picks entry `⌊t·(n−1)⌋`; filters take the first entry whose filter is absent,
    /// `*`, or a substring of the name. Nil when no filter matches (the next scope is asked).
    public func evaluate(tensorName: String, t: Double) -> ParameterScalar? {
        switch self {
        case .scalar(let scalar):
            return scalar
        case .list(let values):
            guard !values.isEmpty else { return nil }
            let numbers = values.compactMap { value -> Double? in
                if case .number(let n) = value { return n }
                return nil
            }
            guard numbers.count == values.count else {
                return values[Int(t * Double(values.count - 1))]
            }
            let scaled = t * Double(numbers.count - 1)
            let i0 = Int(scaled)
            let i1 = min(numbers.count - 1, i0 + 1)
            let fraction = scaled - Double(i0)
            return .number((1 - fraction) * numbers[i0] + fraction * numbers[i1])
        case .filtered(let entries):
            for entry in entries {
                if entry.filter == nil || entry.filter == "*" || (!tensorName.isEmpty && tensorName.contains(entry.filter ?? "")) {
                    return entry.value.evaluate(tensorName: tensorName, t: t)
                }
            }
            return nil
        }
    }

    /// Every scalar the setting can produce at the ends of a gradient (for range checks):
    /// interpolation never leaves the hull of the listed numbers.
    public var listedScalars: [ParameterScalar] {
        switch self {
        case .scalar(let scalar): [scalar]
        case .list(let values): values
        case .filtered(let entries): entries.flatMap(\.value.listedScalars)
        }
    }
}

/// Named parameter settings in file order.
public struct ParameterSettings: Sendable, Equatable {
    public private(set) var entries: [(name: String, setting: ParameterSetting)]

    public init(_ entries: [(name: String, setting: ParameterSetting)] = []) { self.entries = entries }

    public static func == (a: Self, b: Self) -> Bool {
        a.entries.elementsEqual(b.entries) { $0.name == $1.name && $0.setting == $1.setting }
    }

    public var isEmpty: Bool { entries.isEmpty }

    public subscript(name: String) -> ParameterSetting? {
        get { entries.first { $0.name == name }?.setting }
        set {
            let index = entries.firstIndex { $0.name == name }
            switch (index, newValue) {
            case (let i?, let value?): entries[i].setting = value
            case (let i?, nil): entries.remove(at: i)
            case (nil, let value?): entries.append((name, value))
            case (nil, nil): break
            }
        }
    }
}
