import Foundation

/// One coordinate of a genome and the values it may take. Every gene is stored as a `Double`:
/// continuous genes in [0, 1] (the search space maps them onto its ranges), categorical genes as
/// the index of the choice (0, 1, …, count − 1), boolean genes as 0 or 1.
public enum Gene: Codable, Sendable, Hashable {
    case continuous
    case categorical(count: Int)
    case boolean

    /// Whether `value` is one this gene can take.
    public func admits(_ value: Double) -> Bool {
        switch self {
        case .continuous: return value >= 0 && value <= 1
        case .categorical(let count): return value >= 0 && value < Double(count) && value.rounded(.down) == value
        case .boolean: return value == 0 || value == 1
        }
    }
}

/// A point of the search: one `Double` per gene (see `Gene`).
public typealias Genome = [Double]

/// What became of one proposed genome: its objective values, all to be minimized (the engine
/// negates the ones a space maximizes), or `nil` when the evaluation failed. A vector holding a
/// NaN or an infinity counts as failed too: optimizers rank failures below every success.
public struct Evaluation: Sendable, Equatable {
    public let genome: Genome
    public let objectives: [Double]?

    public init(genome: Genome, objectives: [Double]?) {
        self.genome = genome
        self.objectives = objectives
    }

    /// The objectives if the evaluation succeeded with finite values.
    public var finiteObjectives: [Double]? {
        guard let objectives, objectives.allSatisfy(\.isFinite) else { return nil }
        return objectives
    }
}

/// The ask/tell protocol every optimizer follows.
///
/// `ask()` proposes genomes. Every proposed genome must be told back exactly once with `tell`, in
/// the order it was proposed (a call may carry any number of results). A generational optimizer
/// returns an empty array while results of its current generation are outstanding; a
/// steady-state one keeps proposing. The engine decides how many proposals may be in flight.
///
/// The whole state (distribution, paths, step size, generation, restart bookkeeping, random
/// generator, outstanding proposals) is `Codable`: an optimizer decoded from `encodedState()`
/// continues with bit-identical genomes.
public protocol Optimizer: Codable, Sendable {
    /// The genes of the genomes it proposes.
    var genes: [Gene] { get }
    /// Number of objectives `tell` expects per evaluation.
    var objectiveCount: Int { get }
    /// Genomes to evaluate next; empty while the optimizer waits for results.
    mutating func ask() -> [Genome]
    /// Results for the oldest outstanding proposals, in the order they were proposed.
    mutating func tell(_ evaluations: [Evaluation]) throws(OptimizerError)
    /// Why the optimizer has stopped proposing, or nil while it goes on.
    var termination: String? { get }
}

/// A misuse of the ask/tell protocol (a result for a genome that was not proposed, the wrong
/// number of objectives) or a state that cannot be decoded.
public struct OptimizerError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// JSON coding of optimizer states as the archive stores them (DESIGN.md §3): doubles printed so
/// they read back exactly, non-finite numbers as the strings "NaN", "Infinity", "-Infinity",
/// keys sorted so the same state always gives the same bytes.
public enum OptimizerStateCoding {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return decoder
    }

    public static func encode<O: Optimizer>(_ optimizer: O) throws -> Data { try encoder().encode(optimizer) }

    public static func decode<O: Optimizer>(_ type: O.Type, from data: Data) throws -> O { try decoder().decode(type, from: data) }
}

/// Bookkeeping shared by the optimizers: the proposals not yet told, checked against each result.
struct Outstanding: Codable, Sendable, Equatable {
    private(set) var genomes: [Genome] = []

    var isEmpty: Bool { genomes.isEmpty }
    var count: Int { genomes.count }

    mutating func add(_ proposed: [Genome]) { genomes += proposed }

    /// Removes and checks the oldest proposals against `evaluations`.
    mutating func take(_ evaluations: [Evaluation], objectives: Int) throws(OptimizerError) {
        guard evaluations.count <= genomes.count else {
            throw OptimizerError("told \(evaluations.count) results but only \(genomes.count) proposals are outstanding")
        }
        for (offset, evaluation) in evaluations.enumerated() {
            guard evaluation.genome.map(\.bitPattern) == genomes[offset].map(\.bitPattern) else {
                throw OptimizerError("result \(offset) is for a genome that was not the next one proposed")
            }
            if let values = evaluation.objectives, values.count != objectives {
                throw OptimizerError("result \(offset) has \(values.count) objectives, expected \(objectives)")
            }
        }
        genomes.removeFirst(evaluations.count)
    }
}
