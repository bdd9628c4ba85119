/// NearSwap (mergekit `nearswap.py`, after alchemonaut/QuartetAnemoi-70B-t0.0001): each entry of
/// the base a moves toward the other model b by w = clamp(t / max(|a − b|, 1e-6), 0, 1), so entries
/// that differ by less than the threshold t are swapped outright and the others only part of the
/// way: out = w·b + (1 − w)·a.
///
/// Bit for bit mergekit's float32 result: torch evaluates `t / x` as `reciprocal(x) * t` (a plain
/// division differs in the last bit), and the two products are rounded before they are added.
struct NearswapKernel: MergeKernel {
    let base: Int
    let other: Int
    let t: Float
    var extraBuffers: Int { 0 }

    init(context: MergeContext) {
        base = context.tensor.baseInput ?? 0
        other = base == 0 ? 1 : 0
        t = Float(context.tensor.number("t") ?? 0)
    }

    func combine(chunk: Int, range: Range<Int>, scratch: MergeContext.Scratch, out: UnsafeMutablePointer<Float>) {
        let a = scratch.inputs[base], b = scratch.inputs[other]
        let t = t
        for i in 0..<range.count {
            let distance = max((a[i] - b[i]).magnitude, 1e-6)
            let w = min(max((1 / distance) * t, 0), 1)
            out[i] = w * b[i] + (1 - w) * a[i]
        }
    }
}
