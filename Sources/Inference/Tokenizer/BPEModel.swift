import Foundation
import Tensors

/// tokenizer.json's `model` of type BPE (Sennrich et al. 2016; the tokenizers library's
/// `models/bpe`): each piece starts as one symbol per Unicode scalar and the lowest-ranked
/// adjacent pair is merged until no pair in `merges` remains (ties: the leftmost).
/// `ignore_merges` (Llama-3) takes a piece found whole in the vocabulary as one token;
/// `byte_fallback` (Llama-2, Mistral) spells unknown scalars as `<0xXX>` byte tokens; otherwise
/// unknown scalars become `unk_token`, consecutive ones fused when `fuse_unk`.
struct BPEModel: Sendable {
    let vocabulary: [TokenText: Int]
    /// (left id, right id) → (rank, merged id).
    let merges: [UInt64: (rank: Int, merged: Int)]
    let unknown: Int?
    let byteFallback: Bool
    let fuseUnknown: Bool
    let ignoreMerges: Bool
    /// `<0x00>` … `<0xFF>` ids when byte fallback is on.
    let byteTokens: [Int?]

    init(_ value: JSONValue, _ json: TokenizerJSON, field: String) throws(TokenizerError) {
        let object = try json.object(value, field)
        let type = try json.string(object, "type", field)
        guard type == "BPE" else {
            throw json.fail("\(field).type", "\"\(type)\" is not supported (only BPE models are)")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix", "dropout"] where object[key] != nil && object[key] != .null {
            throw json.fail("\(field).\(key)", "is not supported (the BPE styles Amalgam reads leave it null)")
        }
        var vocabulary: [TokenText: Int] = [:]
        for member in try json.object(object["vocab"], "\(field).vocab").members {
            vocabulary[TokenText(member.key)] = try json.id(member.value, "\(field).vocab.\(member.key)")
        }
        self.vocabulary = vocabulary
        var merges: [UInt64: (rank: Int, merged: Int)] = [:]
        for (rank, entry) in try json.array(object, "merges", field).enumerated() {
            let pair: [String]
            if let text = entry.string {
                pair = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            } else {
                pair = entry.array?.compactMap(\.string) ?? []
            }
            guard pair.count == 2, let left = vocabulary[TokenText(pair[0])], let right = vocabulary[TokenText(pair[1])],
                  let merged = vocabulary[TokenText(pair[0] + pair[1])] else {
                throw json.fail("\(field).merges[\(rank)]", "\(entry.serialized()) does not name two vocabulary tokens whose concatenation is one")
            }
            let key = UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))
            if merges[key] == nil { merges[key] = (rank, merged) }
        }
        self.merges = merges
        if let name = object["unk_token"]?.string {
            guard let id = vocabulary[TokenText(name)] else { throw json.fail("\(field).unk_token", "\"\(name)\" is not in the vocabulary") }
            unknown = id
        } else {
            unknown = nil
        }
        byteFallback = try json.bool(object, "byte_fallback", field, default: false)
        fuseUnknown = try json.bool(object, "fuse_unk", field, default: false)
        ignoreMerges = try json.bool(object, "ignore_merges", field, default: false)
        byteTokens = (0..<256).map { vocabulary[TokenText("<0x" + ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) + ">")] }
    }

    func tokenize(_ piece: String, into ids: inout [Int]) {
        if ignoreMerges, let id = vocabulary[TokenText(piece)] {
            ids.append(id)
            return
        }
        var symbols: [Int] = []
        var previousUnknown = false
        for scalar in piece.unicodeScalars {
            if let id = vocabulary[TokenText(String(scalar))] {
                symbols.append(id)
                previousUnknown = false
                continue
            }
            if byteFallback {
                let bytes = Array(String(scalar).utf8).map { byteTokens[Int($0)] }
                if bytes.allSatisfy({ $0 != nil }) {
                    symbols += bytes.compactMap { $0 }
                    previousUnknown = false
                    continue
                }
            }
            guard let unknown else { continue }  // no unk token: the library drops the scalar too
            if !(fuseUnknown && previousUnknown) { symbols.append(unknown) }
            previousUnknown = true
        }
        // Repeatedly merge the lowest-ranked adjacent pair, leftmost first.
        while symbols.count > 1 {
            var best: (rank: Int, index: Int, merged: Int)?
            for i in 0..<(symbols.count - 1) {
                let key = UInt64(UInt32(symbols[i])) << 32 | UInt64(UInt32(symbols[i + 1]))
                if let merge = merges[key], merge.rank < (best?.rank ?? .max) { best = (merge.rank, i, merge.merged) }
            }
            guard let best else { break }
            symbols[best.index] = best.merged
            symbols.remove(at: best.index + 1)
        }
        ids += symbols
    }
}

