import Foundation
import Testing
@testable import Search

@Suite struct RandomSearchTests {
    struct SobolGolden: Decodable {
        let count: Int
        let first_dimensions: [[Double]]
        let columns: [Int]
        let column_points: [[Double]]
    }

    /// The first 64 unscrambled points equal scipy's `Sobol(d, scramble=False)` exactly, in the
    /// first dimensions and in dimensions up to the last one embedded.
    @Test func sobolPointsEqualTheReferenceSequence() throws {
        let golden = try SearchFixtures.load("sobol.json", as: SobolGolden.self)
        var low = try SobolSequence(dimension: 12)
        for expected in golden.first_dimensions {
            #expect(low.next() == expected)
        }
        var full = try SobolSequence(dimension: SobolSequence.maximumDimension)
        let points = (0..<golden.count).compactMap { _ in full.next() }
        for (column, expected) in zip(golden.columns, golden.column_points) {
            #expect(points.map { $0[column] } == expected, "dimension \(column + 1)")
        }
        #expect(SobolSequence.maximumDimension == 1024)
    }

    /// Random search with unscrambled Sobol sampling proposes the reference points as genomes.
    @Test func sobolSearchProposesTheSequence() throws {
        let golden = try SearchFixtures.load("sobol.json", as: SobolGolden.self)
        var search = try RandomSearch(genes: Array(repeating: .continuous, count: 12),
                                      options: RandomSearchOptions(sampling: .sobol, batchSize: 8, scrambled: false))
        var genomes: [Genome] = []
        while genomes.count < golden.count { genomes += search.ask() }
        #expect(genomes == golden.first_dimensions)
    }

    /// A digital shift keeps each coordinate of the first 2^k points in distinct cells of width
    /// 2^−k, while different seeds give different points.
    @Test func shiftedSobolPointsStayStratified() throws {
        var random = SearchRandom(seed: 7)
        var shifted = try SobolSequence(dimension: 40, random: &random)
        let points = (0..<64).compactMap { _ in shifted.next() }
        for dimension in 0..<40 {
            #expect(Set(points.map { Int($0[dimension] * 64) }).count == 64)
        }
        var plain = try SobolSequence(dimension: 40)
        #expect(plain.next() != points[0])
        var other = SearchRandom(seed: 8)
        var otherShifted = try SobolSequence(dimension: 40, random: &other)
        #expect(otherShifted.next() != points[0])
    }

    @Test func sobolRefusesDimensionsItCannotServe() {
        #expect(throws: OptimizerError.self) { try SobolSequence(dimension: 0) }
        #expect(throws: OptimizerError.self) { try SobolSequence(dimension: SobolSequence.maximumDimension + 1) }
    }

    /// Beyond the 1024 embedded dimensions, genes are padded with uniform deviates.
    @Test func genesBeyondTheEmbeddedDimensionsArePadded() throws {
        let count = SobolSequence.maximumDimension + 6
        var search = try RandomSearch(genes: Array(repeating: .continuous, count: count),
                                      options: RandomSearchOptions(sampling: .sobol, scrambled: false))
        let first = search.ask()[0]
        #expect(first.count == count)
        #expect(first.prefix(SobolSequence.maximumDimension).allSatisfy { $0 == 0 })
        #expect(first.suffix(6).allSatisfy { $0 > 0 && $0 < 1 })
    }

    /// 50 batches; after 20 the state is encoded and decoded, and the rest is bit-identical.
    @Test(arguments: RandomSearchOptions.Sampling.allCases)
    func decodedStateContinuesBitForBit(sampling: RandomSearchOptions.Sampling) throws {
        let genes = NSGA2Fixtures.mixedGenes
        let options = RandomSearchOptions(sampling: sampling, batchSize: 5, seed: 3)
        let objectives = { NSGA2Fixtures.objectives($0, genes: genes) }
        var uninterrupted = try RandomSearch(genes: genes, objectiveCount: 2, options: options)
        let reference = try NSGA2Fixtures.run(&uninterrupted, evaluations: 250, lookAhead: 7, objectives: objectives)
        var resumed = try RandomSearch(genes: genes, objectiveCount: 2, options: options)
        let continued = try NSGA2Fixtures.run(&resumed, evaluations: 250, lookAhead: 7, pauseAt: 100, pause: { optimizer in
            try NSGA2Fixtures.roundTrip(&optimizer)
        }, objectives: objectives)
        #expect(NSGA2Fixtures.firstDifference(continued, reference) == nil)
        #expect(resumed.evaluations == 250 && resumed.failures == uninterrupted.failures && resumed.failures > 0)
    }

    /// Batches of the asked size whatever is outstanding; valid genomes that reach every choice;
    /// any number of objectives.
    @Test(arguments: RandomSearchOptions.Sampling.allCases)
    func proposesValidBatchesForAnyObjectiveCount(sampling: RandomSearchOptions.Sampling) throws {
        let genes: [Gene] = [.categorical(count: 3), .boolean, .continuous, .categorical(count: 1), .categorical(count: 7)]
        for objectiveCount in [1, 3, 5] {
            var search = try RandomSearch(genes: genes, objectiveCount: objectiveCount,
                                          options: RandomSearchOptions(sampling: sampling, batchSize: 4))
            var genomes: [Genome] = []
            for _ in 0..<50 {
                let batch = search.ask()
                #expect(batch.count == 4)
                genomes += batch
            }
            #expect(genomes.allSatisfy { genome in zip(genes, genome).allSatisfy { $0.admits($1) } })
            #expect(Set(genomes.map { $0[0] }).count == 3 && Set(genomes.map { $0[4] }).count == 7 && Set(genomes.map { $0[1] }).count == 2)
            try search.tell(genomes.prefix(10).map { Evaluation(genome: $0, objectives: [Double](repeating: 1, count: objectiveCount)) })
            try search.tell([Evaluation(genome: genomes[10], objectives: nil)])
            #expect(search.evaluations == 11 && search.failures == 1 && search.termination == nil)
            #expect(throws: OptimizerError.self) {
                try search.tell([Evaluation(genome: genomes[11], objectives: [Double](repeating: 1, count: objectiveCount + 1))])
            }
        }
    }

    @Test func misuseIsRefused() throws {
        #expect(throws: OptimizerError.self) { try RandomSearch(genes: []) }
        #expect(throws: OptimizerError.self) { try RandomSearch(genes: [.continuous], objectiveCount: 0) }
        #expect(throws: OptimizerError.self) { try RandomSearch(genes: [.continuous], options: RandomSearchOptions(batchSize: 0)) }
        #expect(throws: OptimizerError.self) { try RandomSearch(genes: [.categorical(count: 0)]) }
        var search = try RandomSearch(genes: [.continuous, .continuous], options: RandomSearchOptions(sampling: .sobol))
        let genomes = search.ask()
        let text = String(decoding: try OptimizerStateCoding.encode(search), as: UTF8.self)
        #expect(throws: (any Error).self) {
            try OptimizerStateCoding.decode(RandomSearch.self, from: Data(text.replacingOccurrences(of: "\"dimension\":2", with: "\"dimension\":3").utf8))
        }
        #expect(throws: (any Error).self) { try search.tell([Evaluation(genome: [0.5, 0.5], objectives: [1])]) }
        try search.tell([Evaluation(genome: genomes[0], objectives: [1])])
    }
}
