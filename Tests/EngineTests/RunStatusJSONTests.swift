import Foundation
import Testing
@testable import Engine
import Tensors

/// The stable `status --json` and `front --json` shapes (DESIGN.md §3), built in the Engine.
@Suite struct RunStatusJSONTests {
    /// Keys and values of a serialized object, read back by the JSON parser.
    func object(_ value: JSONValue) throws -> [String: JSONValue] {
        guard case .object(let object) = try JSONParser().parse(Array(value.serialized().utf8)) else { throw JSONShapeError() }
        return Dictionary(uniqueKeysWithValues: object.members.map { ($0.key, $0.value) })
    }

    struct JSONShapeError: Error {}

    @Test func statusKeepsItsKeysAndValues() throws {
        let status = RunStatus.Status(evaluations: 12, budget: 160, failed: 1, pruned: 2, running: 3, frontSize: 4,
                                      best: [(objective: "accuracy", id: 9, value: 0.5)], bestBaseline: (name: "rev", id: 3, value: 0.25),
                                      bestVersusBaseline: nil, baselinesFinished: 7, baselines: 7, ratePerHour: 3600, etaSeconds: nil, workers: 2,
                                      remote: (liveWorkers: 3, expiredLeases: 1))
        let json = try object(status.json)
        #expect(Set(json.keys) == ["evaluations", "budget", "failed", "pruned", "running", "front_size", "best", "best_baseline", "baselines",
                                   "baselines_finished", "rate_per_hour", "eta_s", "remote_workers"])
        #expect(status.json.serialized().contains(#""best":{"accuracy":{"id":9,"value":0.5}}"#))
        #expect(status.json.serialized().contains(#""best_baseline":{"name":"rev","id":3,"value":0.25}"#))
        #expect(json["eta_s"] == .null && json["evaluations"] == .number(JSONNumber(12)) && json["budget"] == .number(JSONNumber(160)))
        #expect(status.json.serialized().contains(#""remote_workers":{"#) && status.json.serialized().contains(#""leases_expired":1"#))
    }

    @Test func frontEntriesKeepTheirKeysAndCosts() throws {
        let comparison = PairedBootstrap.Comparison(baseline: "rev", result: PairedBootstrap.Result(difference: 0.047, low: 0.021, high: 0.071, pBetter: 1, resamples: 1000))
        let entry = RunStatus.FrontEntry(id: 5, baseline: nil, method: "ties", objectives: [("accuracy", 0.5)], calibration: [("add:acc", 0.5)],
                                         holdout: [("add:acc", 0.25)], costs: CandidateCosts(params: 10, layers: 2, density: 0.5, flops: 40),
                                         vsBaseline: comparison)
        let json = try object(entry.json)
        #expect(Set(json.keys) == ["id", "baseline", "method", "objectives", "calibration", "holdout", "gap", "costs", "vs_baseline"])
        let text = entry.json.serialized()
        #expect(json["baseline"] == .null && json["method"] == .string("ties"))
        #expect(text.contains(#""gap":{"add:acc":-0.25}"#))
        for cost in [#""params":10"#, #""layers":2"#, #""density":0.5"#, #""flops":40"#, #""p_better":1"#, #""resamples":1000"#, #""diff":0.047"#] {
            #expect(text.contains(cost), "\(cost) in \(text)")
        }
        var bare = entry
        bare.costs = nil
        bare.vsBaseline = nil
        #expect(bare.json.serialized().contains(#""costs":{}"#) && bare.json.serialized().contains(#""vs_baseline":null"#))
    }
}
