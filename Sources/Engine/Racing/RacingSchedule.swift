import Fitness
import Foundation
import Search
import Tensors

/// Which calibration examples each racing stage scores (DESIGN.md §5b).
///
/// Each raced task's calibration examples are put in a seeded random order once for the run: a
/// Fisher–Yates shuffle (Durstenfeld 1964) drawn from `SearchRandom` seeded with the space's
/// racing seed mixed with the task's name (FNV-1a), so the order follows from the frozen space
/// alone and is the same in every worker, on resume and on any machine. Stage k (0-based) scores
/// the examples at positions ⌈s₍k−1₎·N⌉ ..< ⌈sₖ·N⌉ of that order, so by its end a candidate has
/// scored the first ⌈sₖ·N⌉ of every task, and the last stage (s = 1) completes them.
///
/// Raced tasks are those whose every example scores 0 or 1 (choice, generate), which the bound
/// (`ConfidenceBound`) needs. A perplexity task that neither carries weight nor is named by an
/// objective is scored whole with the last stage (a pruned candidate has no score for it); any
/// other task refuses racing: a weighted perplexity has no bounded range, and a command task
/// scores a model as one number.
public struct RacingSchedule: Sendable {
    /// The examples of one stage: rows of each raced task's calibration file, in the racing order.
    public struct Slice: Sendable, Equatable {
        public let stage: Int
        public let rows: [String: [Int]]
        /// The last stage: it also scores the tasks that are not raced, whole.
        public let isLast: Bool

        /// Whether this stage scores task `name` (`raced`: whether the schedule races it).
        public func scores(_ name: String, raced: Bool) -> Bool {
            raced ? !(rows[name] ?? []).isEmpty : isLast
        }
    }

    public let settings: SearchSpace.Racing
    /// Each raced task's calibration rows (0-based) in the racing order, by task name.
    public let order: [String: [Int]]

    public var stageCount: Int { settings.stages.count }

    /// The schedule of `space`'s racing over `fitness`, whose task files have `sizes` calibration
    /// examples; refuses, naming the space's `racing` field, a task it cannot race.
    public init(space: SearchSpace, fitness: FitnessFile, sizes: [String: Int]) throws(SearchSpaceError) {
        guard let settings = space.racing else { throw SearchSpaceError(file: space.file, field: "racing", "racing is off") }
        self.settings = settings
        let named = Set(space.objectives.compactMap { objective -> String? in
            if case .task(let name, _) = objective.quantity { return name }
            return nil
        })
        var order: [String: [Int]] = [:]
        for task in fitness.tasks {
            switch task.kind {
            case .choice, .generate:
                let count = sizes[task.name] ?? 0
                guard count > 0 else { throw SearchSpaceError(file: space.file, field: "racing", "task \(task.name) has no calibration examples to race") }
                var random = SearchRandom(seed: space.racingSeed ^ Self.fnv1a(task.name))
                var rows = Array(0..<count)
                var index = count - 1
                while index > 0 {
                    rows.swapAt(index, random.integer(below: index + 1))
                    index -= 1
                }
                order[task.name] = rows
            case .perplexity where task.weight == 0 && !named.contains(task.name):
                continue
            case .perplexity:
                throw SearchSpaceError(file: space.file, field: "racing",
                                       "task \(task.name) is a perplexity \(task.weight > 0 ? "with weight \(task.weight)" : "an objective names"); racing bounds scores of 0 or 1 per example (choice, generate tasks), so turn racing off or give the task weight 0")
            case .command:
                throw SearchSpaceError(file: space.file, field: "racing",
                                       "task \(task.name) is a command task, which scores a model as one number and cannot be scored in stages; turn racing off")
            }
        }
        self.order = order
    }

    /// The schedule of the context's space, or nil when racing is off.
    static func make(space: SearchSpace, fitness: FitnessFile) throws -> RacingSchedule? {
        guard space.racing != nil else { return nil }
        var sizes: [String: Int] = [:]
        for task in fitness.tasks where task.kind == .choice || task.kind == .generate {
            sizes[task.name] = try fitness.exampleCount(task, split: .calibration)
        }
        return try RacingSchedule(space: space, fitness: fitness, sizes: sizes)
    }

    /// Whether task `name` is raced (scored in stages).
    public func races(_ name: String) -> Bool { order[name] != nil }

    /// Examples of task `name` scored by the end of stage `stage` (0-based; −1 for none).
    public func scored(_ name: String, through stage: Int) -> Int {
        guard let total = order[name]?.count, stage >= 0 else { return 0 }
        guard stage < stageCount - 1 else { return total }
        return min(total, max(1, Int((settings.stages[stage] * Double(total)).rounded(.up))))
    }

    /// The examples stage `stage` scores.
    public func slice(_ stage: Int) -> Slice {
        var rows: [String: [Int]] = [:]
        for (name, order) in order {
            rows[name] = Array(order[scored(name, through: stage - 1)..<scored(name, through: stage)])
        }
        return Slice(stage: stage, rows: rows, isLast: stage == stageCount - 1)
    }

    /// Calibration examples of raced tasks one candidate scores in full.
    public var examplesPerCandidate: Int { order.values.reduce(0) { $0 + $1.count } }

    /// FNV-1a (64-bit) of a task name: a seed mix that, unlike `Hasher`, is the same in every process.
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}
