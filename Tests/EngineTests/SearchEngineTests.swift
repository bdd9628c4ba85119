import Archive
import Foundation
import Search
import Tensors
import Testing
@testable import Engine

/// The coordinator in process (so ThreadSanitizer sees the workers, the pool and the archive
/// together): runs to its budget, stops on a cancelled flag without spinning, and decides its
/// phases by the rules written on `SearchEngine`.
@Suite(.serialized) struct SearchEngineTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    final class Folder {
        let path = NSTemporaryDirectory() + "amalgam-engine-" + UUID().uuidString
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    /// The demo space over the zoo with task files cut to `rows` examples (a debug build scores slowly).
    static func space(in folder: String, rows: Int = 4, population: Int = 4) throws -> SearchSpace {
        for name in ["add", "rev", "facts"] {
            for split in ["calib", "test"] {
                let file = "\(name).\(split).jsonl"
                let lines = try String(contentsOfFile: repository + "/fitness/" + file, encoding: .utf8).split(separator: "\n").prefix(rows)
                try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: folder + "/" + file))
            }
        }
        try FileManager.default.copyItem(atPath: repository + "/fitness/demo.yaml", toPath: folder + "/fitness.yaml")
        let text = try String(contentsOfFile: repository + "/search-spaces/demo.yaml", encoding: .utf8)
            .replacingOccurrences(of: "../fitness/demo.yaml", with: folder + "/fitness.yaml")
            .replacingOccurrences(of: "../", with: repository + "/")
            .replacingOccurrences(of: "population: 8", with: "population: \(population)")
        try Data(text.utf8).write(to: URL(fileURLWithPath: folder + "/space.yaml"))
        return try SearchSpace(contentsOf: folder + "/space.yaml")
    }

    func engine(_ folder: Folder, evaluations: Int, time: Double? = nil, threadsPerWorker: Int = 1) throws -> (SearchEngine, SQLiteArchive) {
        let space = try Self.space(in: folder.path)
        let context = try SearchContext(space: space, threadsPerWorker: threadsPerWorker)
        let archive = try SQLiteArchive(path: folder.path + "/archive.sqlite")
        return (try SearchEngine(context: context, archive: archive, settings: .init(workers: 2, evaluations: evaluations, time: time)), archive)
    }

    @Test func runsToItsBudgetAndScoresTheFrontOnTheHoldoutSplit() throws {
        let folder = try Folder()
        // Two threads per worker: each merge and forward pass also runs its own chunks in parallel.
        let (engine, archive) = try engine(folder, evaluations: 4, threadsPerWorker: 2)
        let ending = try engine.run(stop: Cancellation()) { _ in }
        #expect(ending == .budget)
        let counts = try archive.statusCounts()
        #expect((counts[.done] ?? 0) + (counts[.failed] ?? 0) == 4)
        #expect(counts[.running] == nil)
        let holdout = Set(try archive.scores(candidate: nil).filter { $0.split == .holdout }.map(\.candidate))
        #expect(!holdout.isEmpty && Set(engine.front.entries.map(\.element)).isSubset(of: holdout))
        #expect(Set(try archive.candidates().compactMap(\.worker)).isSubset(of: [0, 1]))
    }

    @Test func aStopBeforeTheFirstResultReturnsAtOnceAndLeavesEveryCandidatePending() throws {
        let folder = try Folder()
        let (engine, archive) = try engine(folder, evaluations: 100)
        let stop = Cancellation()
        stop.cancel()
        #expect(try engine.run(stop: stop) { _ in } == .stopped)
        #expect(try archive.statusCounts().keys.allSatisfy { $0 == .pending || $0 == .duplicate })
    }

    @Test func aStopWhileWorkersRunAbandonsTheirWorkAndResumeFinishesIt() throws {
        let folder = try Folder()
        let (engine, archive) = try engine(folder, evaluations: 5)
        let stop = Cancellation()
        // Stop as soon as one result is recorded (polled on another thread: the engine must wake).
        let path = folder.path + "/archive.sqlite"
        DispatchQueue.global().async {
            guard let reader = try? SQLiteArchive(path: path, reader: true) else { return stop.cancel() }
            while !stop.isCancelled {
                if ((try? reader.statusCounts()[.done]) ?? 0) > 0 { stop.cancel() }
                usleep(2_000)
            }
        }
        let ending = try engine.run(stop: stop) { _ in }
        stop.cancel()
        #expect(ending == .stopped || ending == .budget)
        #expect(try archive.statusCounts()[.running] == nil)
        let resumed = try SearchEngine(context: engine.context, archive: archive, settings: .init(workers: 2, evaluations: 5, time: nil))
        #expect(try resumed.run(stop: Cancellation()) { _ in } == .budget)
        let counts = try archive.statusCounts()
        #expect((counts[.done] ?? 0) + (counts[.failed] ?? 0) == 5)
    }

    @Test func phases() throws {
        let folder = try Folder()
        let (engine, _) = try engine(folder, evaluations: 4, time: 60)
        // A stop wins over everything; it cancels when work is in flight and stops when none is.
        #expect(engine.nextPhase(after: .running, stopRequested: true, elapsed: 0, inFlight: 2, abandoned: false) == .cancelling(.stopped))
        #expect(engine.nextPhase(after: .running, stopRequested: true, elapsed: 0, inFlight: 0, abandoned: false) == .stopped(.stopped))
        #expect(engine.nextPhase(after: .finishing(.budget), stopRequested: true, elapsed: 0, inFlight: 1, abandoned: false) == .cancelling(.stopped))
        #expect(engine.nextPhase(after: .draining(.time), stopRequested: true, elapsed: 0, inFlight: 1, abandoned: false) == .cancelling(.stopped))
        #expect(engine.nextPhase(after: .cancelling(.stopped), stopRequested: true, elapsed: 0, inFlight: 1, abandoned: false) == .cancelling(.stopped))
        #expect(engine.nextPhase(after: .cancelling(.stopped), stopRequested: true, elapsed: 0, inFlight: 1, abandoned: true) == .stopped(.stopped))
        // The time budget drains what is in flight.
        #expect(engine.nextPhase(after: .running, stopRequested: false, elapsed: 61, inFlight: 1, abandoned: false) == .draining(.time))
        #expect(engine.nextPhase(after: .finishing(.budget), stopRequested: false, elapsed: 61, inFlight: 0, abandoned: false) == .stopped(.time))
        #expect(engine.nextPhase(after: .draining(.time), stopRequested: false, elapsed: 61, inFlight: 0, abandoned: false) == .stopped(.time))
        // Finishing waits for the holdout queue as well as for work in flight.
        engine.holdoutQueue = [1]
        #expect(engine.nextPhase(after: .finishing(.budget), stopRequested: false, elapsed: 0, inFlight: 0, abandoned: false) == .finishing(.budget))
        engine.holdoutQueue = []
        #expect(engine.nextPhase(after: .finishing(.budget), stopRequested: false, elapsed: 0, inFlight: 0, abandoned: false) == .stopped(.budget))
        // The evaluation budget finishes; a running search with work left keeps running.
        engine.started = 4
        #expect(engine.nextPhase(after: .running, stopRequested: false, elapsed: 0, inFlight: 1, abandoned: false) == .finishing(.budget))
        engine.started = 0
        engine.pending = [1]
        #expect(engine.nextPhase(after: .running, stopRequested: false, elapsed: 0, inFlight: 0, abandoned: false) == .running)
    }
}
