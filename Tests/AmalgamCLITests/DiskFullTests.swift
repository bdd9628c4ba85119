import Archive
import Foundation
import Testing

/// Disk full or read-only output (issue 10): `merge`, `export` and a command task's temporary
/// model folder, when a write fails, leave no partial folder (neither the destination nor the
/// hidden `.NAME.partial-*`), print one line naming the path and the errno, and exit 1; a search
/// records such a failure as the candidate's (DESIGN.md §4, "Failure is data") and goes on. An
/// archive whose disk fills stops the search with one line, stays intact, and resumes.
///
/// Full and read-only disks are small tmpfs mounts (`SmallDisk`) when the tests run as root, else
/// the same folders with `AMALGAM_FAULT`; paths a tmpfs cannot fail (a short write, a flush, a
/// rename) are tested through `AMALGAM_FAULT` always.
@Suite(.serialized) struct DiskFullTests {
    final class Folder {
        let path = NSTemporaryDirectory() + "amalgam-diskfull-" + UUID().uuidString
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        var contents: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
    }

    static let deadline = 120.0

    /// A fitness file of twenty `add` examples, plus `extra` task lines: a cheap evaluation.
    static func fitness(in folder: String, extra: String = "") throws -> String {
        let examples = try String(contentsOfFile: CLI.repository + "/fitness/add.calib.jsonl", encoding: .utf8)
            .split(separator: "\n").prefix(20).joined(separator: "\n") + "\n"
        try Data(examples.utf8).write(to: URL(fileURLWithPath: folder + "/add.jsonl"))
        let path = folder + "/fitness.yaml"
        try Data("tasks:\n  - {name: add, kind: choice, calibration: \(folder)/add.jsonl}\n\(extra)".utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The failure tests' two-model task_arithmetic space (zoo/add and zoo/rev over zoo/base).
    static func space(in folder: String, fitness: String, evaluations: Int) throws -> String {
        try SearchFailureTests().space(in: folder, models: [CLI.repository + "/zoo/add", CLI.repository + "/zoo/rev"], fitness: fitness, evaluations: evaluations)
    }

    /// A finished run of two evaluations, made once and shared by the export and archive tests
    /// (which copy it before changing it); removed when the test process ends.
    static let sharedRun = Result<String, any Error>(catching: {
        try FileManager.default.createDirectory(atPath: sharedRoot, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: DiskFullTests.sharedRoot) }
        let spaceFile = try space(in: sharedRoot, fitness: try fitness(in: sharedRoot), evaluations: 2)
        let run = sharedRoot + "/run"
        let result = try CLI.run(["search", spaceFile, "--run", run], deadline: deadline)
        guard result.status == 0 else { throw SetupFailure(description: "the shared search failed: \(result.stderr)") }
        return run
    })
    static let sharedRoot = NSTemporaryDirectory() + "amalgam-diskfull-run-" + UUID().uuidString

    struct SetupFailure: Error, CustomStringConvertible { let description: String }

    /// A copy of the shared run in `folder`.
    func copyOfSharedRun(into folder: String) throws -> String {
        let run = folder + "/run"
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        for name in ["archive.sqlite", "space.yaml"] {
            try FileManager.default.copyItem(atPath: try Self.sharedRun.get() + "/" + name, toPath: run + "/" + name)
        }
        return run
    }

    func finishedCandidate(_ run: String) throws -> Int {
        let done = try SQLiteArchive(path: run + "/archive.sqlite", reader: true).candidates().filter { $0.status == .done }
        return try #require(done.first?.id)
    }

    /// Exit 1 with exactly one line on stderr, holding `message`.
    func expectOneLineFailure(_ result: CLI.Result, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 1, "\(result.stderr)", sourceLocation: sourceLocation)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(message), "\(result.stderr)", sourceLocation: sourceLocation)
    }

    // MARK: merge

    @Test func mergeToAFullDiskLeavesNothingAndNamesENOSPC() throws {
        let disk = SmallDisk(.full)
        let out = disk.path + "/out"
        let result = try CLI.run(["merge", "zoo/demo-merge.yml", "--out", out], environment: disk.environment, deadline: Self.deadline)
        expectOneLineFailure(result, out + "/model.safetensors: could not be written (No space left on device, ENOSPC)")
        #expect(disk.contents.isEmpty, "left behind: \(disk.contents)")
    }

    @Test func mergeToAReadOnlyDiskNamesEROFS() throws {
        let disk = SmallDisk(.readOnly)
        let out = disk.path + "/out"
        let result = try CLI.run(["merge", "zoo/demo-merge.yml", "--out", out], environment: disk.environment, deadline: Self.deadline)
        expectOneLineFailure(result, out + ": could not be created (Read-only file system, EROFS)")
        #expect(disk.contents.isEmpty, "left behind: \(disk.contents)")
    }

    /// The failures a tmpfs cannot produce, each at its own call: a short write then ENOSPC in
    /// the middle of the weights, a file that cannot be created, a failing flush of the weights
    /// and of a small file, a failing rename into place, a folder that cannot be created.
    @Test(arguments: [
        ("write:ENOSPC:100000", "out/model.safetensors: could not be written (No space left on device, ENOSPC)"),
        ("open:EDQUOT:1", "out/config.json: could not be written (Disk quota exceeded, EDQUOT)"),
        ("fsync:EIO", "out/model.safetensors: could not be written (Input/output error, EIO)"),
        ("fsync:EIO:1", "out/config.json: could not be written (Input/output error, EIO)"),
        ("rename:EIO", "out: could not be written (Input/output error, EIO)"),
        ("mkdir:EACCES", "out: could not be created (Permission denied, EACCES)"),
    ])
    func mergeWhoseWriteFailsLeavesNothing(fault: String, message: String) throws {
        let folder = try Folder()
        let result = try CLI.run(["merge", "zoo/demo-merge.yml", "--out", folder.path + "/out"],
                                 environment: ["AMALGAM_FAULT": fault + "@" + folder.path], deadline: Self.deadline)
        expectOneLineFailure(result, folder.path + "/" + message)
        #expect(folder.contents.isEmpty, "left behind: \(folder.contents)")
    }

    @Test func aFaultLimitedToAnotherFolderChangesNothing() throws {
        let folder = try Folder()
        let result = try CLI.run(["merge", "zoo/demo-merge.yml", "--out", folder.path + "/out"],
                                 environment: ["AMALGAM_FAULT": "write:ENOSPC@" + folder.path + "/elsewhere"], deadline: Self.deadline)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(folder.contents == ["out"])
    }

    // MARK: export

    @Test func exportOfAModelToAFullDiskLeavesNothing() throws {
        let run = try Self.sharedRun.get()
        let disk = SmallDisk(.full)
        let model = disk.path + "/model"
        let result = try CLI.run(["export", run, "--candidate", "\(try finishedCandidate(run))", "--model", model],
                                 environment: disk.environment, deadline: Self.deadline)
        expectOneLineFailure(result, model + "/model.safetensors: could not be written (No space left on device, ENOSPC)")
        #expect(disk.contents.isEmpty, "left behind: \(disk.contents)")
    }

    @Test func exportOfARecipeToAReadOnlyDiskNamesEROFS() throws {
        let run = try Self.sharedRun.get()
        let disk = SmallDisk(.readOnly)
        let recipe = disk.path + "/recipe.yml"
        let result = try CLI.run(["export", run, "--candidate", "\(try finishedCandidate(run))", "--recipe", recipe],
                                 environment: disk.environment, deadline: Self.deadline)
        expectOneLineFailure(result, recipe + ": could not be written (Read-only file system, EROFS)")
        #expect(disk.contents.isEmpty, "left behind: \(disk.contents)")
    }

    /// The default export puts the recipe inside the model folder: the folder appears whole or not at all.
    @Test func exportIntoAFullRunFolderLeavesNoExportFolder() throws {
        let folder = try Folder()
        let run = try copyOfSharedRun(into: folder.path)
        let id = try finishedCandidate(run)
        let result = try CLI.run(["export", run, "--candidate", "\(id)"], environment: ["AMALGAM_FAULT": "write:ENOSPC:400000@\(run)/exports"],
                                 deadline: Self.deadline)
        expectOneLineFailure(result, "\(run)/exports/\(id)/model.safetensors: could not be written (No space left on device, ENOSPC)")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: run + "/exports")) ?? [] == [])
        let written = try CLI.run(["export", run, "--candidate", "\(id)"], deadline: Self.deadline)
        #expect(written.status == 0, "\(written.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(run)/exports/\(id)")
        #expect(files.contains("recipe.yml") && files.contains("model.safetensors") && files.contains("config.json"))
    }

    // MARK: search

    @Test func aCommandTaskWhoseTemporaryFolderIsOnAFullDiskFailsEveryCandidate() throws {
        let folder = try Folder()
        let disk = SmallDisk(.full, size: 64 << 10)
        let fitness = try Self.fitness(in: folder.path, extra: """
              - {name: external, kind: command, run: [sh, -c, "echo '{\\"results\\": {\\"x\\": 1}}'"], score: "results.x"}

            """)
        let space = try Self.space(in: folder.path, fitness: fitness, evaluations: 4)
        let run = folder.path + "/run"
        var environment = disk.environment
        environment["TMPDIR"] = disk.path
        let result = try CLI.run(["search", space, "--run", run], environment: environment, deadline: Self.deadline)
        #expect(result.status == 0, "\(result.stderr)")
        let archive = try SQLiteArchive(path: run + "/archive.sqlite", reader: true)
        let evaluated = try archive.candidates().filter { $0.status == .failed || $0.status == .done }
        #expect(evaluated.count == 4)
        for candidate in evaluated {
            let error = candidate.error ?? ""
            #expect(candidate.status == .failed && error.hasPrefix(disk.path + "/amalgam-candidate-")
                    && error.hasSuffix("/model.safetensors: could not be written (No space left on device, ENOSPC)"), "\(error)")
        }
        let status = try JSONSerialization.jsonObject(with: Data(try CLI.run(["status", run, "--json"], deadline: Self.deadline).stdout.utf8)) as? [String: Any]
        #expect(status?["failed"] as? Int == 4 && status?["evaluations"] as? Int == 4)
        #expect(try archive.integrityCheck() == "ok")
        #expect(disk.contents.filter { $0.contains("amalgam-candidate-") }.isEmpty, "left behind: \(disk.contents)")
    }

    @Test func aSearchIntoAReadOnlyFolderNamesEROFSAndLeavesNothing() throws {
        let folder = try Folder()
        let disk = SmallDisk(.readOnly)
        let space = try Self.space(in: folder.path, fitness: try Self.fitness(in: folder.path), evaluations: 2)
        let result = try CLI.run(["search", space, "--run", disk.path + "/runs/x"], environment: disk.environment, deadline: Self.deadline)
        expectOneLineFailure(result, disk.path + "/runs: could not be created (Read-only file system, EROFS)")
        #expect(disk.contents.isEmpty, "left behind: \(disk.contents)")
    }

    /// The archive's own disk fills in the middle of a search: one line naming SQLITE_FULL and
    /// `resume`, exit 1, an intact archive; once there is room, `resume` finishes the run. On a
    /// tmpfs the disk really fills; elsewhere `AMALGAM_FAULT` caps the archive one page above its
    /// size, so SQLite itself fails the write that would grow it.
    @Test func anArchiveOnAFullDiskStopsTheSearchAndResumesOnceThereIsRoom() throws {
        let disk = SmallDisk(.roomy, size: 8 << 20)
        let run = try copyOfSharedRun(into: disk.path)
        let archivePath = run + "/archive.sqlite"
        let before = try SQLiteArchive(path: archivePath, reader: true).statusCounts()[.done] ?? 0
        var environment: [String: String] = [:]
        if disk.mounted {
            disk.fill(leaving: 128 << 10)
        } else {
            let pages = try #require(try SQLiteArchive(path: archivePath, reader: true).database.scalar("PRAGMA page_count")?.int)
            environment["AMALGAM_FAULT"] = "archive:SQLITE_FULL:\(pages + 1)"
        }
        let full = try CLI.run(["resume", run, "--evaluations", "16"], environment: environment, deadline: Self.deadline)
        #expect(full.status == 1, "\(full.stderr)")
        let errors = full.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        #expect(errors.count == 1 && full.stderr.hasSuffix("\n") && errors.first.map { full.stderr.hasSuffix($0 + "\n") } == true, "\(full.stderr)")
        #expect(full.stderr.contains("\(archivePath): could not be written (database or disk is full, SQLITE_FULL)")
                && full.stderr.contains("amalgam resume \(run)"), "\(full.stderr)")
        let stopped = try SQLiteArchive(path: archivePath, reader: true)
        #expect(try stopped.integrityCheck() == "ok")
        let recorded = try stopped.statusCounts()
        let evaluated = (recorded[.done] ?? 0) + (recorded[.failed] ?? 0)
        print("the archive's disk filled after \(evaluated - before) more evaluations")
        #expect(evaluated >= before && evaluated < 16)

        disk.free()
        let resumed = try CLI.run(["resume", run, "--evaluations", "\(evaluated + 1)"], deadline: Self.deadline)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let finished = try SQLiteArchive(path: archivePath, reader: true)
        #expect(try finished.integrityCheck() == "ok")
        let counts = try finished.statusCounts()
        #expect((counts[.done] ?? 0) + (counts[.failed] ?? 0) == evaluated + 1 && counts[.running] == nil)
    }
}
