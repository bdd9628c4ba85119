import Foundation
import Testing
@testable import Search

/// Uniform draws recorded from pymoo, replayed in order; NaN once they run out.
struct ReplayedDraws: UniformSource {
    let draws: [Double]
    private(set) var position = 0

    init(_ draws: [Double]) { self.draws = draws }

    mutating func uniform() -> Double {
        defer { position += 1 }
        return position < draws.count ? draws[position] : .nan
    }

    mutating func integer(below bound: Int) -> Int { min(bound - 1, Int(uniform() * Double(bound))) }
}

@Suite struct NSGA2OperatorTests {
    struct Golden: Decodable {
        struct Crossover: Decodable {
            let parents: [[Double]]
            let draws: [Double]
            let children: [[Double]]
        }
        struct Mutation: Decodable {
            let genome: [Double]
            let variable_probability: Double?
            let draws: [Double]
            let mutated: [Double]
        }
        let sbx: [Crossover]
        let pm: [Mutation]
    }

    static let defaults = NSGA2Variation(options: NSGA2Options())

    static func same(_ a: [Double], _ b: [Double]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0 == $1 || abs($0 - $1) <= 1e-14 }
    }

    /// pymoo's SBX on one mating, its draws replayed: the same children, every draw consumed.
    @Test func simulatedBinaryCrossoverMatchesPymoo() throws {
        let golden = try SearchFixtures.load("operators.json", as: Golden.self)
        #expect(golden.sbx.count >= 100)
        var crossedSome = 0
        for (offset, item) in golden.sbx.enumerated() {
            var draws = ReplayedDraws(item.draws)
            let (one, two) = Self.defaults.crossover.children(item.parents[0], item.parents[1], random: &draws)
            #expect(Self.same(one, item.children[0]) && Self.same(two, item.children[1]), "case \(offset): \(one), \(two) vs \(item.children)")
            #expect(draws.position == item.draws.count, "case \(offset) consumed \(draws.position) of \(item.draws.count) draws")
            if one != item.parents[0] { crossedSome += 1 }
        }
        #expect(crossedSome > 50)
    }

    /// pymoo's polynomial mutation on one individual, its draws replayed.
    @Test func polynomialMutationMatchesPymoo() throws {
        let golden = try SearchFixtures.load("operators.json", as: Golden.self)
        #expect(golden.pm.count >= 100)
        var mutatedSome = 0
        for (offset, item) in golden.pm.enumerated() {
            var mutation = Self.defaults.mutation
            mutation.variableProbability = item.variable_probability
            var draws = ReplayedDraws(item.draws)
            let mutated = mutation.mutated(item.genome, random: &draws)
            #expect(Self.same(mutated, item.mutated), "case \(offset): \(mutated) vs \(item.mutated)")
            #expect(draws.position == item.draws.count, "case \(offset) consumed \(draws.position) of \(item.draws.count) draws")
            if mutated != item.genome { mutatedSome += 1 }
        }
        #expect(mutatedSome > 50)
    }

    @Test func pymoosDefaultsAreTheDefaults() {
        let options = NSGA2Options()
        #expect(options.population == 100 && options.mode == .generational)
        #expect(options.crossoverProbability == 0.9 && options.crossoverEta == 15 && options.crossoverVariableProbability == 0.5)
        #expect(options.crossoverExchangeProbability == 1 && options.crossoverSwapProbability == 0.5)
        #expect(options.mutationEta == 20 && options.mutationProbability == 0.9 && options.mutationVariableProbability == nil)
        #expect(options.breedingRounds == 100)
    }

    /// Crossover and mutation at the bounds, with extreme distribution indices, stay inside [0, 1].
    @Test func variationStaysInsideTheUnitInterval() {
        var random = SearchRandom(seed: 9)
        for eta in [0.0, 1, 15, 100] {
            let options = NSGA2Options(crossoverProbability: 1, crossoverEta: eta, crossoverVariableProbability: 1,
                                       mutationEta: eta, mutationProbability: 1, mutationVariableProbability: 1)
            let variation = NSGA2Variation(options: options)
            let groups = GeneGroups([Gene](repeating: .continuous, count: 6))
            for _ in 0..<300 {
                let a = [0, 1, 0, 1, random.uniform(), 1e-300], b = [1, 0, 1e-15, 1 - 1e-16, random.uniform(), 0]
                let (one, two) = variation.children(a, b, groups: groups, random: &random)
                #expect((one + two).allSatisfy { $0 >= 0 && $0 <= 1 })
            }
        }
    }

    /// Mixed genes: booleans stay 0/1, categorical genes stay whole indices below their count,
    /// and over many matings every value is reached.
    @Test func discreteGenesStayValid() {
        let genes: [Gene] = [.continuous, .boolean, .categorical(count: 3), .boolean, .categorical(count: 1), .categorical(count: 5)]
        let groups = GeneGroups(genes)
        #expect(groups.continuous == [0] && groups.boolean == [1, 3] && groups.categorical.map(\.index) == [2, 4, 5])
        let variation = NSGA2Variation(options: NSGA2Options())
        var random = SearchRandom(seed: 3)
        var seen = Set<[Int]>()
        for _ in 0..<500 {
            let (one, two) = variation.children([0.2, 0, 0, 1, 0, 4], [0.7, 1, 2, 0, 0, 1], groups: groups, random: &random)
            for child in [one, two] {
                #expect(zip(genes, child).allSatisfy { $0.admits($1) }, "\(child)")
                seen.insert([Int(child[2]), Int(child[5])])
            }
        }
        #expect(seen.count == 15)
    }
}
