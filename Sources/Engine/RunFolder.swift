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

    /// The frozen space text (`SearchSpace.yaml`): every setting as the run uses it, the fitness
    /// file inline as it was, the base's layer count and the fingerprints of every input.
    static func frozen(_ space: SearchSpace) throws -> String {
        var frozen = space
        // The fitness file itself, as it was: the run folder says everything the run used.
        frozen.fitnessInline = try space.fitnessInline ?? String(contentsOfFile: space.fitness, encoding: .utf8)
        frozen.fingerprints = try fingerprints(space)
        return "# Frozen by amalgam search: absolute paths and fingerprints; `amalgam resume` reads this file.\n" + frozen.yaml
    }

    /// (path, hash) for every model folder, the fitness file and every task file.
    static func fingerprints(_ space: SearchSpace) throws -> [SearchSpace.Fingerprint] {
        var prints: [SearchSpace.Fingerprint] = []
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
            prints.append(SearchSpace.Fingerprint(path: model, hash: GenomeCodec.hash(text)))
        }
        // The fitness file and the task files it names, read by the fitness file's own parser.
        let fitness = try space.fitnessFile()
        let files = [space.fitness] + fitness.tasks.flatMap { [$0.calibration, $0.holdout].compactMap { $0 } }
        // A file two tasks share (or one task's two splits) is fingerprinted once: the paths are
        // the keys of the frozen space's `fingerprints` mapping.
        var seen = Set(prints.map(\.path))
        for file in files where seen.insert(file).inserted {
            let data = FileManager.default.contents(atPath: file) ?? Data()
            prints.append(SearchSpace.Fingerprint(path: file, hash: GenomeCodec.hash(String(decoding: data, as: UTF8.self))))
        }
        return prints
    }

    /// The frozen space's settings, read without opening a model or task file (`Reading.settingsOnly`):
    /// what `status`, `front`, `export` and `report` need, so they work after the models moved.
    public func settings() throws -> SearchSpace {
        guard let text = try? String(contentsOfFile: spacePath, encoding: .utf8) else {
            throw ArchiveError(file: spacePath, "cannot be read; is \(path) a run folder?")
        }
        return try SearchSpace(yaml: text, file: spacePath, reading: .settingsOnly)
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
        let current = Dictionary(try fingerprints(space).map { ($0.path, $0.hash) }, uniquingKeysWith: { a, _ in a })
        for recorded in space.fingerprints where current[recorded.path] != recorded.hash {
            throw ArchiveError(file: recorded.path, "changed since the run began (fingerprint \(recorded.hash), now \(current[recorded.path] ?? "missing")); resuming would mix results of different inputs")
        }
        return space
    }
}
