// Inference: tokenizers, model architectures and the forward pass (DESIGN.md §2).
// Built by issue 4; the module exists now so the package layout and its import rules are fixed.
