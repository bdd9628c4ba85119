import Foundation
import Tensors

/// Rotary position embeddings (Su et al. 2021, RoFormer) in transformers' rotate-half layout,
/// over the first `dimension` entries of each head (all of them unless `partial_rotary_factor`
/// says less), with the frequency scalings transformers' `modeling_rope_utils.py` defines:
/// linear (positions divided by `factor`), dynamic NTK (the base grows once a call sees more
/// positions than the model was trained on), llama3 (Meta's Llama 3.1 smoothing) and longrope
/// (Phi-3/Phi-4's per-frequency factors, short below the original context, long above, and
/// cos/sin scaled by the attention factor). Frequencies are computed in Float32, as transformers
/// computes them, so logits agree to the last bits that matter.
public struct RotaryEmbedding: Sendable, Equatable {
    public let theta: Double
    /// Entries of each head that are rotated (even); the rest pass through unchanged.
    public let dimension: Int
    public let scaling: Scaling

    public enum Scaling: Sendable, Equatable {
        case none
        case linear(factor: Double)
        /// `max_position_embeddings` the model was trained with, past which the base grows.
        case dynamic(factor: Double, originalMaxPositions: Int)
        case llama3(factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double, originalMaxPositions: Double)
        case longrope(short: [Double], long: [Double], originalMaxPositions: Int, attentionFactor: Double)
    }

    public init(theta: Double, dimension: Int, scaling: Scaling = .none) {
        self.theta = theta
        self.dimension = dimension
        self.scaling = scaling
    }

    /// Whether `frequencies(positions:)` depends on its argument (dynamic NTK and longrope pick
    /// theirs by how many positions a call sees); the others can be computed once per model.
    public var dependsOnPositions: Bool {
        switch scaling {
        case .none, .linear, .llama3: false
        case .dynamic, .longrope: true
        }
    }

    /// The inverse frequencies (`dimension / 2` of them) and the factor cos and sin are
    /// multiplied by, for a call whose positions run up to `positions − 1`.
    public func frequencies(positions: Int) -> (inverse: [Float], factor: Float) {
        let d = Float(dimension)
        func plain(_ base: Float) -> [Float] {
            stride(from: 0, to: dimension, by: 2).map { 1 / powf(base, Float($0) / d) }
        }
        switch scaling {
        case .none:
            return (plain(Float(theta)), 1)
        case .linear(let factor):
            return (plain(Float(theta)).map { $0 / Float(factor) }, 1)
        case .dynamic(let factor, let original):
            guard positions > original else { return (plain(Float(theta)), 1) }
            let grown = theta * pow(factor * Double(positions) / Double(original) - (factor - 1), Double(dimension) / Double(dimension - 2))
            return (plain(Float(grown)), 1)
        case .llama3(let factor, let low, let high, let original):
            let factor = Float(factor), low = Float(low), high = Float(high), original = Float(original)
            let lowWavelength = original / low, highWavelength = original / high
            let inverse = plain(Float(theta)).map { frequency in
                let wavelength = 2 * Float.pi / frequency
                if wavelength < highWavelength { return frequency }
                if wavelength > lowWavelength { return frequency / factor }
                let smooth = (original / wavelength - low) / (high - low)
                return (1 - smooth) * frequency / factor + smooth * frequency
            }
            return (inverse, 1)
        case .longrope(let short, let long, let original, let attentionFactor):
            let factors = positions > original ? long : short
            let exponents = stride(from: 0, to: dimension, by: 2).map { Float($0) / d }
            let inverse = zip(factors, exponents).map { factor, exponent in 1 / (Float(factor) * powf(Float(theta), exponent)) }
            return (inverse, Float(attentionFactor))
        }
    }

    /// Reads one rotary embedding from transformers' keys: `rope_type` (or the older `type`),
    /// `rope_theta`, `factor` and the scaling's own keys, from `parameters` (transformers 5's
    /// `rope_parameters`, or the older `rope_scaling`). Unknown rope types are refused.
    static func read(_ parameters: JSONObject?, theta: Double, dimension: Int, maxPositions: Int?, file: String, field: String) throws(ModelError) -> RotaryEmbedding {
        func fail(_ message: String) -> ModelError { ModelError(file: file, field: field, message) }
        func number(_ key: String) -> Double? { parameters?[key]?.number?.double }
        let theta = number("rope_theta") ?? theta
        guard theta > 1, theta.isFinite else { throw fail("rope_theta must be a number above 1, found \(theta)") }
        let type = parameters?["rope_type"]?.string ?? parameters?["type"]?.string ?? "default"
        let original = number("original_max_position_embeddings").map { Int($0) } ?? maxPositions
        switch type {
        case "default":
            return RotaryEmbedding(theta: theta, dimension: dimension)
        case "linear":
            guard let factor = number("factor"), factor > 0 else { throw fail("linear scaling needs a positive factor") }
            return RotaryEmbedding(theta: theta, dimension: dimension, scaling: .linear(factor: factor))
        case "dynamic":
            guard let factor = number("factor"), factor >= 1, let original, original > 0 else {
                throw fail("dynamic scaling needs factor ≥ 1 and max_position_embeddings")
            }
            return RotaryEmbedding(theta: theta, dimension: dimension, scaling: .dynamic(factor: factor, originalMaxPositions: original))
        case "llama3":
            guard let factor = number("factor"), let low = number("low_freq_factor"), let high = number("high_freq_factor"),
                  let original = number("original_max_position_embeddings"), high > low
            else { throw fail("llama3 scaling needs factor, low_freq_factor < high_freq_factor and original_max_position_embeddings") }
            return RotaryEmbedding(theta: theta, dimension: dimension,
                                   scaling: .llama3(factor: factor, lowFrequencyFactor: low, highFrequencyFactor: high, originalMaxPositions: original))
        case "longrope":
            let half = dimension / 2
            func factors(_ key: String) throws(ModelError) -> [Double] {
                guard let list = parameters?[key]?.array?.compactMap({ $0.number?.double }), list.count == half, list.allSatisfy({ $0 > 0 }) else {
                    throw fail("longrope scaling needs \(key): \(half) positive numbers (half the rotary dimension)")
                }
                return list
            }
            guard let original, original > 0, let maxPositions else {
                throw fail("longrope scaling needs original_max_position_embeddings and max_position_embeddings")
            }
            // transformers' `_compute_longrope_parameters`: the factor is the context extension,
            // the attention factor √(1 + ln(factor) / ln(original)) unless configured.
            let factor = number("factor") ?? Double(maxPositions) / Double(original)
            let attention = number("attention_factor") ?? (factor <= 1 ? 1 : (1 + log(factor) / log(Double(original))).squareRoot())
            return RotaryEmbedding(theta: theta, dimension: dimension,
                                   scaling: .longrope(short: try factors("short_factor"), long: try factors("long_factor"), originalMaxPositions: original, attentionFactor: attention))
        default:
            throw fail("rope type \"\(type)\" is not supported (default, linear, dynamic, llama3, longrope)")
        }
    }
}
