import ArgumentParser
import Foundation
import Inference
import Tensors

extension Amalgam {
    struct Tokenize: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the token ids of text, one JSON array per input line.",
            discussion: """
                Uses MODEL's tokenizer.json, with BOS/EOS as tokenizer_config.json asks for \
                Llama-family tokenizer classes, the way transformers' AutoTokenizer encodes. \
                Without TEXT or --file, lines are read from standard input.
                """
        )

        @Argument(help: "The model folder holding tokenizer.json.", completion: .directory)
        var model: String

        @Argument(help: "Text to tokenize (one array for the whole text).")
        var text: String?

        @Option(help: "A file whose every line is tokenized on its own.", completion: .file())
        var file: String?

        @Flag(help: "Leave out the special tokens (BOS/EOS) the post-processor adds.")
        var noSpecialTokens = false

        func validate() throws {
            if text != nil && file != nil { throw ValidationError("give TEXT or --file, not both") }
        }

        func run() throws {
            let tokenizer = try Tokenizer(folder: model)
            func emit(_ line: String) {
                let ids = tokenizer.encode(line, addSpecialTokens: !noSpecialTokens)
                print(JSONValue.array(ids.map { .number(JSONNumber($0)) }).serialized())
            }
            if let text { emit(text); return }
            let input: String
            if let file {
                guard let data = FileManager.default.contents(atPath: file), let content = String(data: data, encoding: .utf8) else {
                    throw ArgumentFileError(file: file, field: "--file", "cannot be read as UTF-8 text")
                }
                input = content
            } else {
                input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            }
            var lines = input.components(separatedBy: "\n")
            if lines.last == "" { lines.removeLast() }
            for line in lines { emit(line.hasSuffix("\r") ? String(line.dropLast()) : line) }
        }
    }
}
