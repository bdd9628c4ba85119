/// How one decoder layer is wired, in the checkpoint's own tensor names: an attention sublayer
/// and an MLP sublayer, each with an optional norm on its input (pre-norm, as llama) and an
/// optional norm on its output before the residual add (Gemma 2's sandwich, OLMo 2's post-norm).
/// A model family states its block once; `DecoderWeights` loads the tensors it names and
/// `DecoderModel` runs it, so the forward pass of every family is built from the same pieces.
public struct DecoderBlock: Sendable, Equatable {
    public var attention: Attention
    public var mlp: MLP

    public struct Attention: Sendable, Equatable {
        /// Norm of the sublayer's input (`input_layernorm`), nil when the block has none (OLMo 2).
        public var inputNorm: String?
        /// Norm of the sublayer's output before the residual add (`post_attention_layernorm` in
        /// Gemma 2 and OLMo 2).
        public var outputNorm: String?
        public var projections: Projections = .separate
        /// q/k/v biases (qwen2, or `attention_bias: true`).
        public var bias = false
        /// An o_proj bias (`attention_bias: true` in llama-like families; never in qwen2).
        public var outputBias = false
        public var queryKeyNorm: QueryKeyNorm = .none
    }

    public struct MLP: Sendable, Equatable {
        public var inputNorm: String?
        public var outputNorm: String?
        /// `gate_up_proj` holding the gate rows then the up rows (Phi-3) instead of two tensors.
        public var fusedGateUp = false
        public var activation: Activation = .silu
    }

    /// Separate `q_proj`, `k_proj`, `v_proj`, or Phi-3's `qkv_proj` (q rows, then k, then v).
    public enum Projections: Sendable, Equatable { case separate, fused }

    /// RMSNorm of queries and keys before the rotary embedding: over each head's `head_dim`
    /// (Qwen 3, Gemma 3) or over the whole projection (OLMo 2).
    public enum QueryKeyNorm: Sendable, Equatable { case none, perHead, wholeProjection }

    /// The gated MLP's activation: `act(gate) · up`.
    public enum Activation: String, Sendable, Equatable {
        /// x · σ(x) (`silu`).
        case silu
        /// GELU with the tanh approximation (`gelu_pytorch_tanh`, Gemma).
        case geluTanh

        /// The activation named by config.json's `hidden_act` / `hidden_activation`.
        public init?(configName: String) {
            switch configName {
            case "silu", "swish": self = .silu
            case "gelu_pytorch_tanh", "gelu_tanh", "gelu_new", "gelu_fast": self = .geluTanh
            default: return nil
            }
        }
    }

    /// The llama block: pre-norm attention (`input_layernorm`) and pre-norm MLP
    /// (`post_attention_layernorm`), SwiGLU.
    public static let preNorm = DecoderBlock(
        attention: Attention(inputNorm: "input_layernorm", outputNorm: nil),
        mlp: MLP(inputNorm: "post_attention_layernorm", outputNorm: nil))

    /// Every tensor of one layer with its shape, names after `model.layers.N.`.
    func tensorShapes(_ c: DecoderConfiguration) -> [(String, [Int])] {
        let h = c.hiddenSize, q = c.headCount * c.headDimension, kv = c.keyValueHeadCount * c.headDimension
        var list: [(String, [Int])] = []
        if let norm = attention.inputNorm { list.append((norm + ".weight", [h])) }
        switch attention.projections {
        case .separate:
            list += [("self_attn.q_proj.weight", [q, h]), ("self_attn.k_proj.weight", [kv, h]), ("self_attn.v_proj.weight", [kv, h])]
        case .fused:
            list.append(("self_attn.qkv_proj.weight", [q + 2 * kv, h]))
        }
        list.append(("self_attn.o_proj.weight", [h, q]))
        if attention.outputBias { list.append(("self_attn.o_proj.bias", [h])) }
        if attention.bias {
            switch attention.projections {
            case .separate: list += [("self_attn.q_proj.bias", [q]), ("self_attn.k_proj.bias", [kv]), ("self_attn.v_proj.bias", [kv])]
            case .fused: list.append(("self_attn.qkv_proj.bias", [q + 2 * kv]))
            }
        }
        switch attention.queryKeyNorm {
        case .none: break
        case .perHead: list += [("self_attn.q_norm.weight", [c.headDimension]), ("self_attn.k_norm.weight", [c.headDimension])]
        case .wholeProjection: list += [("self_attn.q_norm.weight", [q]), ("self_attn.k_norm.weight", [kv])]
        }
        if let norm = attention.outputNorm { list.append((norm + ".weight", [h])) }
        if let norm = mlp.inputNorm { list.append((norm + ".weight", [h])) }
        if mlp.fusedGateUp {
            list.append(("mlp.gate_up_proj.weight", [2 * c.intermediateSize, h]))
        } else {
            list += [("mlp.gate_proj.weight", [c.intermediateSize, h]), ("mlp.up_proj.weight", [c.intermediateSize, h])]
        }
        list.append(("mlp.down_proj.weight", [h, c.intermediateSize]))
        if let norm = mlp.outputNorm { list.append((norm + ".weight", [h])) }
        return list
    }
}
