import Tensors

extension Recipe {
    /// The recipe as mergekit YAML, keys in mergekit's order, numeric lists in flow style
    /// (`[0, 0.5, 1]`) as mergekit's own dumper writes them. Parsing the text gives this recipe back.
    public var yaml: String {
        var lines = ["merge_method: \(mergeMethod.rawValue)"]
        if let baseModel { lines.append("base_model: \(YAMLText.string(baseModel))") }
        if let models {
            lines.append("models:")
            for model in models {
                lines.append("  - model: \(YAMLText.string(model.model))")
                YAMLText.parameters(model.parameters, indent: 4, into: &lines)
            }
        }
        if let slices {
            lines.append("slices:")
            for slice in slices {
                lines.append("  - sources:")
                for source in slice.sources {
                    lines.append("      - model: \(YAMLText.string(source.model))")
                    lines.append("        layer_range: [\(source.layerRange.lowerBound), \(source.layerRange.upperBound)]")
                    YAMLText.parameters(source.parameters, indent: 8, into: &lines)
                }
                if let base = slice.baseModel { lines.append("    base_model: \(YAMLText.string(base))") }
                YAMLText.parameters(slice.parameters, indent: 4, into: &lines)
            }
        }
        YAMLText.parameters(parameters, indent: 0, into: &lines)
        if let dtype { lines.append("dtype: \(dtype.torchName)") }
        if let outDType { lines.append("out_dtype: \(outDType.torchName)") }
        switch tokenizerSource {
        case .base: lines.append("tokenizer_source: base")
        case .model(let path): lines.append("tokenizer_source: \(YAMLText.string(path))")
        case nil: break
        }
        if let randomSeed { lines.append("random_seed: \(randomSeed)") }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension DType {
    /// torch's name, as mergekit recipes spell dtypes.
    public var torchName: String {
        switch self {
        case .f32: "float32"
        case .f16: "float16"
        case .bf16: "bfloat16"
        default: rawValue
        }
    }
}

enum YAMLText {
    static func parameters(_ settings: ParameterSettings, indent: Int, into lines: inout [String]) {
        guard !settings.isEmpty else { return }
        let pad = String(repeating: " ", count: indent)
        lines.append(pad + "parameters:")
        for (name, setting) in settings.entries {
            switch setting {
            case .scalar, .list:
                lines.append(pad + "  \(name): \(plain(setting))")
            case .filtered(let entries):
                lines.append(pad + "  \(name):")
                for entry in entries {
                    if let filter = entry.filter {
                        lines.append(pad + "    - filter: \(string(filter))")
                        lines.append(pad + "      value: \(plain(entry.value))")
                    } else {
                        lines.append(pad + "    - value: \(plain(entry.value))")
                    }
                }
            }
        }
    }

    static func plain(_ setting: ParameterSetting) -> String {
        switch setting {
        case .scalar(let scalar): scalarText(scalar)
        case .list(let values): "[" + values.map(scalarText).joined(separator: ", ") + "]"
        case .filtered: ""  // filters never nest; the parser refuses them
        }
    }

    static func scalarText(_ scalar: ParameterScalar) -> String {
        switch scalar {
        case .number(let value): format(value)
        case .bool(let value): value ? "true" : "false"
        case .string(let value): string(value)
        }
    }

    /// A plain scalar when YAML reads it back as the same string, else double-quoted.
    static func string(_ text: String) -> String {
        let safe = text.unicodeScalars.allSatisfy {
            ($0.value >= 0x30 && $0.value <= 0x39) || ($0.value >= 0x41 && $0.value <= 0x5A)
                || ($0.value >= 0x61 && $0.value <= 0x7A) || "_./-".unicodeScalars.contains($0)
        }
        let ambiguous = ["true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"].contains(text.lowercased())
            || Double(text) != nil || text.first == "-" || text.isEmpty
        if safe && !ambiguous { return text }
        // A JSON string is a YAML double-quoted scalar with the same value once the scalars YAML
        // refuses in a stream (DEL, C1 controls, U+FEFF, U+FFFE/F) or reads as line breaks, folded
        // to a space (U+0085, U+2028, U+2029), are escaped too.
        var quoted = ""
        for scalar in JSONValue.string(text).serialized().unicodeScalars {
            if (0x7F...0x9F).contains(scalar.value) || [0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF].contains(scalar.value) {
                let hex = String(scalar.value, radix: 16)
                quoted += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted
    }
}
