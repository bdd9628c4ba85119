import Foundation
import Tensors
import Testing
@testable import Engine

/// The pool never blocks its coordinator without a reason: with nothing in flight `results`
/// returns at once, and `wake` ends a wait.
@Suite(.serialized) struct WorkerPoolTests {
    @Test func resultsNeverBlockWithNothingInFlightAndWakeEndsAWait() throws {
        let folder = try SearchEngineTests.Folder()
        let context = try SearchContext(space: try SearchEngineTests.space(in: folder.path), threadsPerWorker: 1)
        let pool = WorkerPool(context: context, workers: 2)
        defer { pool.close() }
        #expect(pool.inFlight == 0 && pool.hasIdleWorker)
        // Nothing in flight: an hour's deadline is not waited for.
        #expect(pool.results(until: Date().addingTimeInterval(3600)).isEmpty)
        let decoded = try context.codec.decode(context.codec.centre)
        pool.cancellation.cancel()  // the job comes back cancelled at once
        #expect(pool.submit(WorkerPool.Job(candidate: 1, seq: 0, decoded: decoded, split: .calibration)) == 0)
        var collected: [WorkerPool.Done] = []
        while collected.isEmpty { collected += pool.results(until: Date().addingTimeInterval(60)) }
        #expect(collected.map(\.job.candidate) == [1] && collected[0].outcome.cancelled && collected[0].worker == 0)
        #expect(pool.inFlight == 0)
        pool.wake()
        #expect(pool.results(until: Date().addingTimeInterval(3600)).isEmpty)
    }
}
