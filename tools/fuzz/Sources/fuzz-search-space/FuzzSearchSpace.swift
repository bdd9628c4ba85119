import FuzzSupport
import Merging
import Search
import Tensors

/// A search space's YAML text, read as if it were a file in the repository's search-spaces/ (so
/// `../zoo/base` and `../fitness/demo.yaml` resolve to real folders and files: the reader checks
/// that they exist and reads the models' config.json). A space that reads is handed to the genome
/// codec, which decodes its centre genome and the all-low and all-high genomes; every recipe it
/// makes must read back from its YAML.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSearchSpace(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    guard let text = fuzzText(start, count) else { return 0 }
    let space: SearchSpace
    do {
        space = try SearchSpace(yaml: text, file: repositoryRoot + "/search-spaces/fuzz.yaml")
    } catch {
        _ = error.description
        return 0
    }
    let codec = GenomeCodec(space: space, outDType: .bf16)
    _ = codec.slots.map(codec.label)
    for genome in [codec.centre, codec.genes.map { _ in 0 }, codec.genes.map(high)] {
        let candidate: GenomeCodec.Candidate
        do {
            candidate = try codec.decode(genome)
        } catch {
            _ = error.description
            continue
        }
        do {
            guard try Recipe(yaml: candidate.yaml, file: "candidate.yml") == candidate.recipe else {
                fatalError("the candidate's recipe reads back as another recipe:\n\(candidate.yaml)")
            }
        } catch {
            fatalError("the candidate's recipe does not read back (\(error)):\n\(candidate.yaml)")
        }
    }
    return 0
}

/// The largest value a gene takes.
func high(_ gene: Gene) -> Double {
    switch gene {
    case .continuous: 1
    case .categorical(let count): Double(count - 1)
    case .boolean: 1
    }
}
