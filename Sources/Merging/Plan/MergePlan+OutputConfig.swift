import Tensors

extension MergePlan {
    /// The config.json of the merged model, from the config model's: `num_hidden_layers` set to
    /// the output's layer count and transformers' per-layer `layer_types` (qwen2, qwen3, gemma2,
    /// gemma3 … as transformers 5 writes them) cut to the layers kept, each output layer keeping
    /// the type of the source layer it is merged from — transformers rejects a config whose
    /// `layer_types` does not list `num_hidden_layers` entries, and a layer's weights belong
    /// with the attention (sliding or full) they were trained with. A `layer_types` that is not
    /// a list of the source's length is left as it is, for the reader to report. When config.json
    /// states the types by a pattern instead (Gemma 3's `sliding_window_pattern`, Qwen's
    /// `max_window_layers`) and the layers kept are not the source's own, the family's layout
    /// gives them (`TensorLayout.layerTypes`) and they are written out, since a pattern would
    /// count the output's positions, not the source layers.
    public func outputConfig(_ config: ModelConfig) -> ModelConfig {
        var config = config
        let sourceCount = try? config.layerCount
        config.set("num_hidden_layers", .number(JSONNumber(layerCount)))
        if let types = config.json["layer_types"]?.array, types.count == sourceCount, sourceLayers.allSatisfy({ $0 < types.count }) {
            config.set("layer_types", .array(sourceLayers.map { types[$0] }))
        } else if config.json["layer_types"] == nil, let types = layout.layerTypes, types.count == sourceCount,
                  sourceLayers != Array(0..<types.count), sourceLayers.allSatisfy({ $0 < types.count }) {
            config.set("layer_types", .array(sourceLayers.map { .string(types[$0]) }))
        }
        return config
    }
}
