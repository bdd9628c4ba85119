import ArgumentParser
import Archive
import Engine
import Foundation
import Tensors

extension Amalgam {
    struct Worker: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the jobs of a search whose archive is on a PostgreSQL server, on this machine.",
            discussion: """
                The run's coordinator is `amalgam search SPACE --store URL --workers 0` (or `resume` of \
                such a run), which runs the optimizer and no jobs; start any number of workers, before \
                or after it, on machines that see the run's model and task files. A worker claims one \
                job at a time and holds it by heartbeat; one that dies leaves a lease that runs out \
                (10 s), and its job goes back to the queue. Workers end when the coordinator has \
                stopped and no job is left; Ctrl-C gives the job in hand back at once.
                """
        )

        @Option(help: ArgumentHelp("The run's store: postgres://user@host/db?run=NAME.", valueName: "url"))
        var store: String

        @Option(help: "Threads for merging and scoring (default: every core).")
        var threads: Int?

        @Option(help: "This worker's name in the store (default: host and process id).")
        var name: String?

        @Option(name: .customLong("exit-when-idle"), help: ArgumentHelp("Exit after this long without a job, such as 30s or 10m (default: run until stopped).", valueName: "duration"))
        var exitWhenIdle: String?

        @Option(name: .customLong("path-map"), help: ArgumentHelp("FROM=TO: read the run's files under FROM from TO on this machine (repeatable).", valueName: "from=to"))
        var pathMap: [String] = []

        func validate() throws {
            if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
            if let exitWhenIdle, parseDuration(exitWhenIdle) == nil { throw ValidationError("--exit-when-idle: \"\(exitWhenIdle)\" is not a duration such as 30s or 10m") }
            for map in pathMap where map.split(separator: "=", maxSplits: 1).count != 2 {
                throw ValidationError("--path-map: \"\(map)\" is not FROM=TO")
            }
            do { _ = try PostgresStoreURL(store) } catch { throw ValidationError("--store: \(error)") }
        }

        func run() throws {
            let url = try PostgresStoreURL(store)
            let stop = Cancellation()
            let sources = [SIGINT, SIGTERM].map { number -> DispatchSourceSignal in
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler {
                    if stop.isCancelled { _exit(130) }
                    stop.cancel()
                }
                source.resume()
                return source
            }
            defer { sources.forEach { $0.cancel() } }
            let options = RemoteWorker.Options(
                name: name ?? "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)",
                threads: threads ?? ProcessInfo.processInfo.activeProcessorCount,
                idleExit: exitWhenIdle.flatMap(parseDuration),
                pathMap: pathMap.map { map in
                    let parts = map.split(separator: "=", maxSplits: 1).map(String.init)
                    return (parts[0], parts[1])
                })
            let finished = try RemoteWorker.run(store: url, options: options, stop: stop) { line in
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            print("worker \(options.name): \(finished) jobs finished")
        }
    }
}
