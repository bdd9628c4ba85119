import Foundation

extension ArchiveStore {
    /// Every table's rows in a stable order, without the columns that legitimately differ between
    /// two runs of the same search (times, worker, events, remote workers' transport): what the determinism contract compares
    /// (DESIGN.md §4). Built from the store's records, so an SQLite and a PostgreSQL archive of the
    /// same search dump the same text. Doubles print as their bit patterns (NaN as `NaN`, which
    /// SQLite keeps as NULL), text with newlines escaped, absent values as `NULL`.
    public func dump() throws -> String {
        var lines: [String] = []
        func add(_ table: String, _ fields: [String?]) {
            lines.append(table + "\t" + fields.map { $0 ?? "NULL" }.joined(separator: "\t"))
        }
        func real(_ value: Double?) -> String? {
            value.map { $0.isNaN ? "NaN" : String($0.bitPattern, radix: 16) }
        }
        func text(_ value: String?) -> String? { value?.replacingOccurrences(of: "\n", with: "\\n") }

        // Left out too: what a PostgreSQL coordinator writes for its remote workers (the frozen space
        // the worker protocol, the coordinator's state), which is transport, not a result.
        for (key, value) in try runInfo().sorted(by: { $0.key < $1.key }) where !["created", "started", "frozen_space", "worker_protocol", "coordinator"].contains(key) {
            add("run", [text(key), text(value)])
        }
        let candidates = try candidates()
        for c in candidates {
            add("candidate", [String(c.id), String(c.seq), try ArchiveGenome.encode(c.genome), text(c.recipeHash), text(c.recipe),
                              c.status.rawValue, text(c.error), c.duplicateOf.map(String.init), text(c.baseline)])
        }
        for s in try scores(candidate: nil).sorted(by: { ($0.candidate, $0.task, $0.split.rawValue, $0.metric) < ($1.candidate, $1.task, $1.split.rawValue, $1.metric) }) {
            add("score", [String(s.candidate), text(s.task), s.split.rawValue, text(s.metric), real(s.value), real(s.stderr), String(s.n)])
        }
        for s in try stageScores(candidate: nil).sorted(by: { ($0.candidate, $0.stage, $0.task, $0.metric) < ($1.candidate, $1.stage, $1.task, $1.metric) }) {
            add("stageScore", [String(s.candidate), String(s.stage), text(s.task), text(s.metric), real(s.value), real(s.stderr), String(s.n)])
        }
        for c in candidates.sorted(by: { $0.id < $1.id }) {
            for split in ScoreSplit.allCases.sorted(by: { $0.rawValue < $1.rawValue }) {
                for r in try exampleScores(candidate: c.id, split: split).sorted(by: { ($0.task, $0.metric) < ($1.task, $1.metric) }) {
                    for (example, value) in r.values.enumerated() {
                        add("exampleScore", [String(c.id), text(r.task), split.rawValue, text(r.metric), String(example), real(value)])
                    }
                }
            }
        }
        for o in try objectives(candidate: nil).sorted(by: { ($0.candidate, $0.name) < ($1.candidate, $1.name) }) {
            add("objective", [String(o.candidate), text(o.name), real(o.value)])
        }
        for c in try checkpoints() {
            add("optimizerState", [String(c.asked), String(c.told), text(c.state)])
        }
        return lines.joined(separator: "\n")
    }
}
