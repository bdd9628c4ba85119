import Foundation
import Search

/// The optimizer a space names, made fresh or restored from a checkpoint. Checkpoints are
/// versioned JSON: `{"optimizer": NAME, "state": …, "version": 1}` (non-finite numbers as strings).
enum SearchOptimizer {
    static let version = 1

    struct Envelope<O: Optimizer>: Codable {
        let version: Int
        let optimizer: String
        let state: O
    }

    /// A fresh optimizer; with `start` (the warm start: the best baseline's genome) CMA-ES's initial
    /// mean is `start` and NSGA-II's initial population opens with it; random search ignores it.
    static func make(space: SearchSpace, genes: [Gene], start: Genome? = nil) throws -> any Optimizer {
        let settings = space.optimizer
        switch settings.name {
        case .cmaes:
            let restarts: CMAESOptions.Restarts = switch settings.restarts {
            case .none: .none
            case .ipop: .ipop
            case .bipop: .bipop
            }
            return try CMAES(genes: genes, objectiveCount: space.objectives.count,
                             options: CMAESOptions(x0: start, sigma0: settings.sigma ?? 0.25, population: settings.population, seed: settings.seed, restarts: restarts))
        case .nsga2:
            return try NSGA2(genes: genes, objectiveCount: space.objectives.count,
                             options: NSGA2Options(population: population(space, genes: genes), mode: settings.steadyState ? .steadyState : .generational,
                                                   seed: settings.seed, initial: start.map { [$0] }))
        case .random:
            return try RandomSearch(genes: genes, objectiveCount: space.objectives.count,
                                    options: RandomSearchOptions(sampling: settings.sobol ? .sobol : .uniform, seed: settings.seed))
        }
    }

    /// The space's population, else each optimizer's default: CMA-ES's 4 + ⌊3 ln n⌋, NSGA-II's
    /// 100 (pymoo's), for random search 4 + ⌊3 ln n⌋ as well. It is also the engine's look-ahead:
    /// how many proposals may be in flight (DESIGN.md §4), whatever the worker count.
    static func population(_ space: SearchSpace, genes: [Gene]) -> Int {
        if let population = space.optimizer.population { return population }
        switch space.optimizer.name {
        case .nsga2: return 100
        case .cmaes, .random: return 4 + Int(3 * log(Double(max(1, genes.count))))
        }
    }

    static func encode(_ optimizer: any Optimizer, name: SearchSpace.OptimizerSettings.Name) throws -> String {
        func envelope<O: Optimizer>(_ state: O) throws -> Data {
            try OptimizerStateCoding.encoder().encode(Envelope(version: version, optimizer: name.rawValue, state: state))
        }
        return String(decoding: try envelope(optimizer), as: UTF8.self)
    }

    static func decode(_ text: String, name: SearchSpace.OptimizerSettings.Name, file: String) throws -> any Optimizer {
        let data = Data(text.utf8)
        do {
            switch name {
            case .cmaes: return try check(OptimizerStateCoding.decoder().decode(Envelope<CMAES>.self, from: data), file: file)
            case .nsga2: return try check(OptimizerStateCoding.decoder().decode(Envelope<NSGA2>.self, from: data), file: file)
            case .random: return try check(OptimizerStateCoding.decoder().decode(Envelope<RandomSearch>.self, from: data), file: file)
            }
        } catch let error as SearchSpaceError {
            throw error
        } catch {
            throw SearchSpaceError(file: file, field: "optimizerState", "cannot be read back: \(error)")
        }
    }

    static func check<O: Optimizer>(_ envelope: Envelope<O>, file: String) throws -> O {
        guard envelope.version == version else {
            throw SearchSpaceError(file: file, field: "optimizerState", "version \(envelope.version) is not \(version); use the amalgam that wrote it")
        }
        return envelope.state
    }
}
