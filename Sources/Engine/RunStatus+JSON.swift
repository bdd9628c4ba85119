import Tensors

/// The stable `--json` shapes of `status` and `front` (DESIGN.md §3), built here where a unit test
/// reaches them; the command line only prints them.
extension RunStatus.Status {
    /// `{"evaluations", "budget", "failed", "pruned", "running", "front_size", "best": {objective:
    /// {"id", "value"}}, "best_baseline", "baselines", "baselines_finished", "rate_per_hour", "eta_s",
    /// "remote_workers"}`.
    public var json: JSONValue {
        var best = JSONObject()
        for entry in self.best { best[entry.objective] = .object(JSONObject(["id": .number(JSONNumber(entry.id)), "value": .number(JSONNumber(entry.value))])) }
        return .object(JSONObject([
            "evaluations": .number(JSONNumber(evaluations)), "budget": budget.map { .number(JSONNumber($0)) } ?? .null,
            "failed": .number(JSONNumber(failed)), "pruned": .number(JSONNumber(pruned)), "running": .number(JSONNumber(running)),
            "front_size": .number(JSONNumber(frontSize)), "best": .object(best),
            "best_baseline": bestBaseline.map { .object(JSONObject(["name": .string($0.name), "id": .number(JSONNumber($0.id)), "value": .number(JSONNumber($0.value))])) } ?? .null,
            "baselines": .number(JSONNumber(baselines)), "baselines_finished": .number(JSONNumber(baselinesFinished)),
            "rate_per_hour": .number(JSONNumber(ratePerHour)), "eta_s": etaSeconds.map { .number(JSONNumber($0)) } ?? .null,
            "remote_workers": remote.map { .object(JSONObject(["live": .number(JSONNumber($0.liveWorkers)), "leases_expired": .number(JSONNumber($0.expiredLeases))])) } ?? .null,
        ]))
    }
}

extension RunStatus.FrontEntry {
    /// `{"id", "baseline", "method", "objectives", "calibration", "holdout", "gap", "costs",
    /// "vs_baseline": {"name", "diff", "low", "high", "p_better", "resamples"}}`, scores keyed
    /// `task:metric`.
    public var json: JSONValue {
        func object(_ pairs: [(String, Double)]) -> JSONValue {
            var object = JSONObject()
            for (key, value) in pairs { object[key] = .number(JSONNumber(value)) }
            return .object(object)
        }
        return .object(JSONObject([
            "id": .number(JSONNumber(id)), "baseline": baseline.map(JSONValue.string) ?? .null, "method": .string(method), "objectives": object(objectives),
            "calibration": object(calibration), "holdout": object(holdout), "gap": object(gap),
            "costs": object(costs.map { c in CandidateCosts.names.compactMap { name in c.value(name).map { (name, $0) } } } ?? []),
            "vs_baseline": vsBaseline.map { comparison in
                let r = comparison.result
                return .object(JSONObject(["name": .string(comparison.baseline), "diff": .number(JSONNumber(r.difference)),
                                           "low": .number(JSONNumber(r.low)), "high": .number(JSONNumber(r.high)),
                                           "p_better": .number(JSONNumber(r.pBetter)), "resamples": .number(JSONNumber(r.resamples))]))
            } ?? .null,
        ]))
    }
}
