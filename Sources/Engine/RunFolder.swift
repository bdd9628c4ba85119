import Archive
import Foundation
import Search
import Tensors

/// A run's folder (DESIGN.md §3): `archive.sqlite`, the frozen `space.yaml`, `exports/`; for a run
/// archived on a PostgreSQL server, `store.url` names the store instead of `archive.sqlite`.
///
/// The frozen space is the space with every path made absolute and the fitness file inlined
/// (`fitness_inline`, read back instead of the file), followed by a
/// `fingerprints:` comment block: for each model folder a hash of its config.json, index,
/// safetensors headers and sizes and 16 blocks sampled from each weights file (reading whole
/// weights would take minutes on big models), for the
/// fitness file and each task file a hash of the whole file. `resume` refuses, naming the file,
/// when a fingerprint no longer matches.
public struct RunFolder: Sendable {
    public let path: String
    public var archivePath: String { path + "/archive.sqlite" }
    public var spacePath: String { path + "/space.yaml" }
    /// The PostgreSQL store's URL, one line, when the run's archive is on a server.
    public var storePath: String { path + "/store.url" }

    public init(path: String) {
        self.path = URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// Where a run's archive lives.
    public enum Store: Sendable, Equatable {
        case sqlite(path: String)
        case postgres(PostgresStoreURL)

        /// `postgres://…?run=NAME` (or `postgresql://`); anything else is refused by name.
        public init(url: String) throws {
            self = .postgres(try PostgresStoreURL(url))
        }
    }

    /// The run's store: the PostgreSQL store `store.url` names, else the folder's SQLite file.
    public func store() throws -> Store {
        guard let text = FileManager.default.contents(atPath: storePath) else { return .sqlite(path: archivePath) }
        return try Store(url: String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The run's archive: the writer creates and migrates it, a reader requires it.
    public func openArchive(reader: Bool = false) throws -> any ArchiveStore {
        switch try store() {
        case .sqlite(let path): try SQLiteArchive(path: path, reader: reader)
        case .postgres(let url): try PostgresArchive(url, reader: reader)
        }
    }

    /// Whether the run has recorded nothing yet (its search was stopped while starting).
    public func archiveIsUnstarted() throws -> Bool {
        switch try store() {
        case .sqlite(let path): SQLiteArchive.isUnstarted(path: path)
        case .postgres(let url): try PostgresArchive.isUnstarted(url)
        }
    }

    /// Makes the folder for a new search; an existing run is refused unless `force` (which starts afresh).
    /// Every input of the space (fitness file and task data, models, tokenizer) is checked first,
    /// so bad input leaves neither a run folder behind nor an earlier run removed by `force`.
    /// `store`: a PostgreSQL store (`Store.postgres`) for the archive instead of the folder's SQLite
    /// file; its run must hold no archive yet unless `force` (which drops it).
    public static func create(path: String, space: SearchSpace, force: Bool, store: Store? = nil) throws -> RunFolder {
        let folder = RunFolder(path: path)
        let manager = FileManager.default
        let holdsRun = manager.fileExists(atPath: folder.archivePath) || manager.fileExists(atPath: folder.spacePath)
        if holdsRun && !force {
            throw ArchiveError(file: folder.path, "already holds a run; continue it with `amalgam resume \(path)` or start afresh with --force")
        }
        _ = try SearchContext(space: space, threadsPerWorker: 1)
        let text = try frozen(space)
        if case .postgres(let url) = store, !force, try !PostgresArchive.isUnstarted(url) {
            throw ArchiveError(file: url.description, "already holds run '\(url.run)'; continue it with `amalgam resume`, start afresh with --force, or name another run")
        }
        if holdsRun {
            _ = try RunLock(runFolder: folder.path)  // refuse to delete a run another process is searching
            if case .postgres(let url) = try? folder.store() { try PostgresArchive.drop(url) }
            for name in ["archive.sqlite", "archive.sqlite-wal", "archive.sqlite-shm", "space.yaml", "store.url", "exports"] {
                try? manager.removeItem(atPath: folder.path + "/" + name)
            }
        }
        if case .postgres(let url) = store { try PostgresArchive.drop(url) }  // force: afresh (nothing to drop otherwise)
        let created = try Disk.makeDirectories(folder.path)
        do {
            if case .postgres(let url) = store { try Disk.writeAtomically(Array((url.text + "\n").utf8), to: folder.storePath) }
            try Disk.writeAtomically(Array(text.utf8), to: folder.spacePath)
        } catch {
            // A disk too full for the frozen space leaves no run folder behind.
            for directory in created.reversed() { try? manager.removeItem(atPath: directory) }
            throw error
        }
        return folder
    }

    /// The frozen space text: the space with absolute paths and the fingerprints.
    static func frozen(_ space: SearchSpace) throws -> String {
        var lines = ["# Frozen by amalgam search: absolute paths and fingerprints; `amalgam resume` reads this file.",
                     "name: \(space.name)",
                     "base_model: \(quoted(space.baseModel))",
                     "models: [\(space.models.map(quoted).joined(separator: ", "))]",
                     "methods: [\(space.methods.map(\.rawValue).joined(separator: ", "))]",
                     "layer_granularity: \(space.layerGranularity)"]
        if !space.filters.isEmpty { lines.append("filters: [\(space.filters.map(quoted).joined(separator: ", "))]") }
        if !space.geneRanges.isEmpty {
            lines.append("genes:")
            for (name, range) in space.geneRanges.sorted(by: { $0.key < $1.key }) { lines.append("  \(name): [\(range.lowerBound), \(range.upperBound)]") }
        }
        lines.append("layers: {drop: \(space.dropLayers)}")
        lines.append("smooth: \(space.smooth)")
        lines.append("baselines: \(space.baselines)")
        lines.append("fitness: \(quoted(space.fitness))")
        // The fitness file itself, as it was: the run folder says everything the run used.
        let fitnessText = try space.fitnessInline ?? String(contentsOfFile: space.fitness, encoding: .utf8)
        lines.append("fitness_inline: |")
        for line in fitnessText.split(separator: "\n", omittingEmptySubsequences: false).dropLast(fitnessText.hasSuffix("\n") ? 1 : 0) {
            lines.append(line.isEmpty ? "" : "  " + line)
        }
        lines.append("objectives:")
        for objective in space.objectives { lines.append("  - \(objective.maximize ? "maximize" : "minimize"): \(quoted(objective.name))") }
        let o = space.optimizer
        var optimizer = "optimizer: {name: \(o.name.rawValue), restarts: \(o.restarts.rawValue), seed: \(o.seed), steady_state: \(o.steadyState), sampling: \(o.sobol ? "sobol" : "uniform")"
        if let population = o.population { optimizer += ", population: \(population)" }
        if let sigma = o.sigma { optimizer += ", sigma: \(sigma)" }
        lines.append(optimizer + "}")
        lines.append("budget: {evaluations: \(space.evaluations)\(space.time.map { ", time: \(Int($0))s" } ?? "")}")
        if let workers = space.workers { lines.append("workers: \(workers)") }
        // No `store:`: the folder's store.url names it, and the frozen space is copied to the store for workers.
        lines.append("arena: \(space.arena.rawValue)")
        if let racing = space.racing {
            // The seed written out: the example order must not follow a later --seed.
            lines.append("racing: {stages: [\(racing.stages.map { "\($0)" }.joined(separator: ", "))], confidence: \(racing.confidence), seed: \(space.racingSeed)}")
        }
        lines.append("# fingerprints:")
        for (file, print) in try fingerprints(space) { lines.append("#   \(print) \(file)") }
        return lines.joined(separator: "\n") + "\n"
    }

    static func quoted(_ text: String) -> String { JSONValue.string(text).serialized() }

    /// (path, hash) for every model folder, the fitness file and every task file.
    static func fingerprints(_ space: SearchSpace) throws -> [(String, String)] {
        var prints: [(String, String)] = []
        for model in [space.baseModel] + space.models {
            var text = ""
            let files = (try FileManager.default.contentsOfDirectory(atPath: model)).sorted()
            for name in files where name.hasSuffix(".json") || name.hasSuffix(".safetensors") {
                let path = model + "/" + name
                let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
                text += "\(name) \(size)\n"
                guard let handle = FileHandle(forReadingAtPath: path) else { continue }
                defer { try? handle.close() }
                if name.hasSuffix(".json") {
                    text += String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
                } else {
                    // The header (8-byte length, then that many bytes of JSON) and 16 blocks of 4 KB
                    // spread over the weights: retrained weights of the same shapes change them,
                    // and reading them costs milliseconds where hashing whole files would take minutes.
                    let length = handle.readData(ofLength: 8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
                    text += String(decoding: handle.readData(ofLength: min(length, 100_000_000)), as: UTF8.self)
                    let start = 8 + length
                    for block in 0..<16 where size > start {
                        try handle.seek(toOffset: UInt64(start + (size - start) * block / 16))
                        text += handle.readData(ofLength: 4096).map { String($0, radix: 16) }.joined()
                    }
                }
            }
            prints.append((model, GenomeCodec.hash(text)))
        }
        var files = [space.fitness]
        if let text = try? String(contentsOfFile: space.fitness, encoding: .utf8) {
            let folder = URL(fileURLWithPath: space.fitness).deletingLastPathComponent().path
            for line in text.split(separator: "\n") {
                for key in ["calibration:", "holdout:"] {
                    guard let range = line.range(of: key) else { continue }
                    let value = line[range.upperBound...].split(whereSeparator: { $0 == "," || $0 == "}" }).first?
                        .trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'")) ?? ""
                    if !value.isEmpty { files.append(value.hasPrefix("/") ? value : folder + "/" + value) }
                }
            }
        }
        for file in files {
            let data = FileManager.default.contents(atPath: file) ?? Data()
            prints.append((file, GenomeCodec.hash(String(decoding: data, as: UTF8.self))))
        }
        return prints
    }

    /// The frozen space, after checking that no model or task file changed since the run began.
    public func frozenSpace() throws -> SearchSpace {
        guard let text = try? String(contentsOfFile: spacePath, encoding: .utf8) else {
            throw ArchiveError(file: spacePath, "cannot be read; is \(path) a run folder?")
        }
        return try Self.verifiedSpace(frozen: text, file: spacePath)
    }

    /// A frozen space's text read back, after checking that no model or task file it names
    /// changed since the run began (its fingerprints): what `resume` and `amalgam worker` run on.
    public static func verifiedSpace(frozen text: String, file: String) throws -> SearchSpace {
        let space = try SearchSpace(yaml: text, file: file)
        let recorded = text.split(separator: "\n").filter { $0.hasPrefix("#   ") }.map { line -> (String, String) in
            let body = line.dropFirst(4)
            let hash = body.prefix(while: { $0 != " " })
            return (String(body.dropFirst(hash.count + 1)), String(hash))
        }
        let current = Dictionary(try fingerprints(space), uniquingKeysWith: { a, _ in a })
        for (file, hash) in recorded where current[file] != hash {
            throw ArchiveError(file: file, "changed since the run began (fingerprint \(hash), now \(current[file] ?? "missing")); resuming would mix results of different inputs")
        }
        return space
    }
}
