/// One member of NSGA-II's population: a told genome with its objectives (nil when the
/// evaluation failed or gave a non-finite value), its front and its crowding distance.
public struct NSGA2Member: Codable, Sendable, Equatable {
    public let genome: Genome
    /// Finite objective values, or nil for a failure (ranked below every success).
    public let objectives: [Double]?
    /// Front index among the successes (0 = non-dominated); nil for a failure.
    public internal(set) var rank: Int?
    /// Crowding distance within its front as survival computed it (+∞ at the extremes); 0 for a
    /// failure, which never enters a crowding computation.
    public internal(set) var crowding: Double

    init(_ evaluation: Evaluation) {
        genome = evaluation.genome
        objectives = evaluation.finiteObjectives
        rank = nil
        crowding = 0
    }

    var succeeded: Bool { objectives != nil }
}

/// NSGA-II's environmental selection (Deb et al. 2002, §III-C) as pymoo 0.6.2 runs it
/// (`pymoo/core/survival.py` with `filter_infeasible`, and `RankAndCrowding` in
/// `pymoo/operators/survival/rank_and_crowding/classes.py`).
///
/// Failed evaluations are the infeasible solutions: the successes are ranked first by
/// non-dominated sorting, whole fronts kept while they fit, and the front that does not fit is cut
/// to its members of largest crowding distance (computed once over the whole front, ties broken
/// at random, as pymoo's `randomized_argsort`); each survivor keeps the rank and crowding found
/// here. Only if the successes do not fill the population are failures added, oldest first
/// (all failures have the same constraint violation). Failures never enter non-dominated sorting
/// or crowding, so no NaN can reach them.
enum RankAndCrowdingSurvival {
    /// The `count` survivors of `members` (all of them, ranked, if there are no more).
    static func survivors(of members: [NSGA2Member], count: Int, random: inout SearchRandom) -> [NSGA2Member] {
        let target = min(count, members.count)
        var successes: [NSGA2Member] = [], failures: [NSGA2Member] = []
        var points: [[Double]] = []
        for member in members {
            if let objectives = member.objectives {
                successes.append(member)
                points.append(objectives)
            } else {
                failures.append(member)
            }
        }
        var result: [NSGA2Member] = []
        result.reserveCapacity(target)
        let feasibleTarget = min(target, successes.count)
        for (rank, front) in NonDominatedSort.fronts(points).enumerated() {
            if result.count >= feasibleTarget { break }
            let crowding = CrowdingDistance.of(front.map { points[$0] })
            var kept = Array(front.indices)
            if result.count + front.count > feasibleTarget {
                let room = feasibleTarget - result.count
                kept = Array(randomizedDescendingOrder(crowding, random: &random).prefix(room))
            }
            for position in kept {
                var member = successes[front[position]]
                member.rank = rank
                member.crowding = crowding[position]
                result.append(member)
            }
        }
        for var failure in failures.prefix(target - result.count) {
            failure.rank = nil
            failure.crowding = 0
            result.append(failure)
        }
        return result
    }

    /// Positions of `values` from largest to smallest, equal values in random order (pymoo's
    /// `randomized_argsort(order="descending")`: a random permutation, sorted, reversed).
    static func randomizedDescendingOrder(_ values: [Double], random: inout SearchRandom) -> [Int] {
        let shuffled = Permutation.random(values.count, random: &random)
        let ascending = shuffled.indices.sorted { a, b in
            values[shuffled[a]] < values[shuffled[b]] || (values[shuffled[a]] == values[shuffled[b]] && a < b)
        }
        return ascending.reversed().map { shuffled[$0] }
    }
}

/// NSGA-II's mating selection: binary tournaments as pymoo's `binary_tournament` with
/// `comp_by_dom_and_crowding` (`pymoo/algorithms/moo/nsga2.py`, driven by
/// `TournamentSelection` in `pymoo/operators/selection/tournament.py`).
///
/// Competitors are drawn by concatenating random permutations of the population, so every member
/// competes about equally often. If either competitor failed, the one with the smaller
/// constraint violation wins (successes 0, failures 1; a coin decides between two failures).
/// Between successes the dominating one wins; if neither dominates, the larger crowding distance
/// wins, and a coin decides ties.
enum BinaryTournament {
    /// Population indices of `count` winners.
    static func winners(_ count: Int, from population: [NSGA2Member], random: inout SearchRandom) -> [Int] {
        guard !population.isEmpty else { return [] }
        var competitors: [Int] = []
        while competitors.count < 2 * count { competitors += Permutation.random(population.count, random: &random) }
        return (0..<count).map { tournament in
            winner(competitors[2 * tournament], competitors[2 * tournament + 1], in: population, random: &random)
        }
    }

    static func winner(_ a: Int, _ b: Int, in population: [NSGA2Member], random: inout SearchRandom) -> Int {
        let first = population[a], second = population[b]
        guard let objectivesA = first.objectives, let objectivesB = second.objectives else {
            if first.succeeded { return a }
            if second.succeeded { return b }
            return random.integer(below: 2) == 0 ? a : b
        }
        switch Dominance.relation(objectivesA, objectivesB) {
        case .dominates: return a
        case .dominated: return b
        case .incomparable:
            if first.crowding > second.crowding { return a }
            if second.crowding > first.crowding { return b }
            return random.integer(below: 2) == 0 ? a : b
        }
    }
}

/// Uniformly random permutations (Fisher–Yates; Durstenfeld 1964).
enum Permutation {
    static func random(_ count: Int, random: inout SearchRandom) -> [Int] {
        var result = Array(0..<count)
        var index = count - 1
        while index > 0 {
            result.swapAt(index, random.integer(below: index + 1))
            index -= 1
        }
        return result
    }
}
