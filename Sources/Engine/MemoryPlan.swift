import Foundation
import Inference
import Merging
import Search
import Tensors

/// What one worker of a search needs in memory and what the machine has, computed before the run
/// starts (DESIGN.md §5b), so that a search that cannot fit is refused at once instead of dying of
/// OOM in the middle of a merge.
///
/// A worker needs its arena (every merged tensor in the arena's dtype; none when all tasks are
/// `command` tasks, which stream each candidate to a folder instead), its forward-pass workspace
/// (`DecoderModel.workspaceBytes`: key/value cache and activations for a 1 024-row scoring pass,
/// widened weight tiles, logits), the merge's per-thread chunks, the Float32 copy of each adapter
/// a multi-pass method folds per tensor, and the streaming writer's buffer (the largest tensor in
/// its output dtype) when it writes candidates to disk. Source models are memory-mapped: their
/// pages are the page cache's, reclaimable, and not counted.
///
/// The machine offers the smaller of `MemAvailable` (/proc/meminfo) and the cgroup's limit less
/// its usage (cgroup v2 `memory.max`/`memory.current`, or v1's), capped by `AMALGAM_MEMORY_LIMIT`
/// when set (bytes, or with a K/M/G/T suffix: a share of a machine others use too). Workers may
/// take 90 % of it; the rest is left to the process (archive, tokenizer, examples) and the system.
public struct MemoryPlan: Sendable {
    /// One worker's needs, in bytes.
    public struct Worker: Sendable, Equatable {
        public var arena = 0
        public var workspace = 0
        public var merge = 0
        public var total: Int { arena + workspace + merge }
    }

    public let cores: Int
    /// Bytes the machine offers and where the figure comes from.
    public let available: Int
    public let source: String
    /// Bytes the workers may use together (90 % of `available`).
    public var usable: Int { available / 10 * 9 }
    /// A worker's needs when the run has `workers` workers (threads per worker change the
    /// workspace's per-thread tiles).
    public let worker: @Sendable (_ workers: Int) -> Worker
    public let arenaDType: String
    public let parameters: Int

    /// The most workers that fit, at most one per core; 0 when not even one does.
    public var fitting: Int {
        (1...max(1, cores)).reversed().first { $0 * worker($0).total <= usable } ?? 0
    }

    /// Plans the workers of `context`'s search on this machine (or on one offering `machine`).
    public init(context: SearchContext, machine: (bytes: Int, source: String)? = nil) throws {
        let recipe = try context.codec.decode(context.codec.centre).recipe
        let plan = try MergePlan(recipe: recipe, file: "candidate recipe", opened: context.folders, layouts: { [layout = context.layout] _ in layout })
        let tasks = context.fitness.tasks
        let builtIn = context.evaluation != nil && tasks.contains { $0.kind != .command }
        let writes = tasks.contains { $0.kind == .command }
        let storage = context.arenaStorage
        let arena = builtIn ? plan.tensors.reduce(0) { $0 + $1.elementCount * storage.storedDType(of: $1).byteWidth } : 0
        let configuration = builtIn ? try DecoderConfiguration(plan.outputConfig(context.baseConfig)) : nil
        let narrowWeights = plan.tensors.contains { storage.storedDType(of: $0) != .f32 }
        let largest = plan.tensors.map(\.elementCount).max() ?? 0
        let inputs = plan.tensors.map(\.inputs.count).max() ?? 1
        let adapters = context.space.models.filter(LoRAAdapter.isAdapter).count
        let folds = context.space.methods.contains { !$0.readsSourcesOnce } ? adapters * largest * 4 : 0
        let writer = writes ? plan.tensors.map { $0.elementCount * Materializer.ArenaStorage.outputDType.storedDType(of: $0).byteWidth }.max() ?? 0 : 0
        let cores = ProcessInfo.processInfo.activeProcessorCount
        self.cores = cores
        (available, source) = machine ?? MachineMemory.available()
        parameters = plan.tensors.reduce(0) { $0 + $1.elementCount }
        arenaDType = builtIn ? (Set(plan.tensors.map { storage.storedDType(of: $0) }).map(\.rawValue).sorted().joined(separator: "+")) : "none"
        worker = { workers in
            let threads = max(1, cores / max(1, workers))
            var needs = Worker()
            needs.arena = arena
            if let configuration {
                needs.workspace = DecoderModel.workspaceBytes(configuration, rows: DecoderModel.rowsPerPass, threads: threads, narrowWeights: narrowWeights)
            }
            // Per-thread chunk scratch (inputs + work buffers + the staged output chunk).
            needs.merge = threads * (inputs + 8) * 4 * Materializer.chunkElements + folds + writer
            return needs
        }
    }

    /// The worker count a run uses: `requested` (named by `origin`, e.g. "--workers 16") if it
    /// fits, else a one-line refusal naming what it needs, what the machine offers and the
    /// largest count that fits; nil: the most that fit.
    public func workers(_ requested: Int?, origin: String) throws(Refusal) -> Int {
        let fits = fitting
        let offer = "this machine offers \(Self.gib(usable)) (90 % of \(source) \(Self.gib(available)))"
        if let requested {
            let each = worker(requested).total
            guard requested * each <= usable else {
                let advice = fits > 0 ? "at most \(fits) worker\(fits == 1 ? " fits" : "s fit")" : "not even one worker fits"
                throw Refusal(description: "\(origin): \(requested) workers need \(Self.gib(requested * each)) (\(Self.gib(each)) each), but \(offer); \(advice)")
            }
            return requested
        }
        guard fits > 0 else {
            throw Refusal(description: "\(origin): one worker needs \(Self.gib(worker(1).total)), but \(offer)")
        }
        return fits
    }

    /// A run that would not fit in memory.
    public struct Refusal: Error, CustomStringConvertible {
        public let description: String
    }

    /// The plan as lines for `--dry-run`.
    public func lines(workers requested: Int?) -> [String] {
        let count = requested ?? max(1, fitting)
        let one = worker(count), threads = max(1, cores / count)
        return [
            "memory: \(parameters) parameters; arena \(arenaDType)",
            "  per worker (\(count) worker\(count == 1 ? "" : "s"), \(threads) thread\(threads == 1 ? "" : "s") each): arena \(Self.gib(one.arena)) + workspace \(Self.gib(one.workspace)) + merge \(Self.gib(one.merge)) = \(Self.gib(one.total))",
            "  machine: \(source) \(Self.gib(available)), workers may use \(Self.gib(usable)); \(fitting) worker\(fitting == 1 ? "" : "s") fit (\(cores) cores)\(requested.map { " — \($0) requested" } ?? "")",
        ]
    }

    /// Bytes for people: MiB below 1 GiB, else GiB.
    static func gib(_ bytes: Int) -> String {
        bytes < 1 << 30 ? Format.fixed(Double(bytes) / 1_048_576, digits: 1) + " MiB" : Format.fixed(Double(bytes) / 1_073_741_824, digits: 2) + " GiB"
    }
}

/// What memory this machine offers the process.
enum MachineMemory {
    /// (bytes, where the figure comes from).
    static func available() -> (Int, String) {
        var best: (Int, String) = (meminfo("MemAvailable") ?? Int.max / 2, "MemAvailable")
        if let cgroup = cgroupRoom(), cgroup < best.0 { best = (cgroup, "the cgroup's room") }
        if let text = ProcessInfo.processInfo.environment["AMALGAM_MEMORY_LIMIT"], let limit = parseBytes(text), limit < best.0 {
            best = (limit, "AMALGAM_MEMORY_LIMIT")
        }
        return best
    }

    static func meminfo(_ key: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kib = Int(fields[1]) { return kib * 1024 }
        }
        return nil
    }

    /// The cgroup's limit less its usage (v2, then v1); nil when unlimited or unknown.
    static func cgroupRoom() -> Int? {
        func number(_ path: String) -> Int? {
            (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        var folders = ["/sys/fs/cgroup"]
        if let text = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) {
            folders.insert("/sys/fs/cgroup" + line.dropFirst(3), at: 0)
        }
        for folder in folders {
            if let limit = number(folder + "/memory.max"), let used = number(folder + "/memory.current") { return max(0, limit - used) }
        }
        if let limit = number("/sys/fs/cgroup/memory/memory.limit_in_bytes"), limit < 1 << 60,
           let used = number("/sys/fs/cgroup/memory/memory.usage_in_bytes") {
            return max(0, limit - used)
        }
        return nil
    }

    /// "123", "512M", "16G", "1.5T" (powers of 1 024).
    static func parseBytes(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).uppercased().replacingOccurrences(of: "IB", with: "").replacingOccurrences(of: "B", with: "")
        let scales: [Character: Double] = ["K": 1024, "M": 1_048_576, "G": 1_073_741_824, "T": 1_099_511_627_776]
        if let last = trimmed.last, let scale = scales[last], let value = Double(trimmed.dropLast()), value >= 0 { return Int(value * scale) }
        return Int(trimmed).flatMap { $0 >= 0 ? $0 : nil }
    }
}
