#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import Tensors

/// `AMALGAM_FAULT`'s grammar and counting, and the errno names the write errors print.
@Suite struct DiskFaultTests {
    func disk(_ text: String) -> DiskFault? {
        if case .disk(let fault)? = DiskFault.parse(text) { fault } else { nil }
    }

    @Test func parsesEveryDocumentedForm() throws {
        let full = try #require(disk("write:ENOSPC"))
        #expect(full.operation == .write && full.error == SystemError(ENOSPC) && full.after == 0 && full.directory == nil)
        let scoped = try #require(disk("any:EROFS:3@/tmp/x/"))
        #expect(scoped.operation == .any && scoped.error.name == "EROFS" && scoped.after == 3 && scoped.directory == "/tmp/x")
        guard case .archivePages(40)? = DiskFault.parse("archive:SQLITE_FULL:40") else {
            Issue.record("archive:SQLITE_FULL:40 is not a page cap")
            return
        }
        for bad in ["", "write", "write:ENOPE", "chmod:EIO", "write:ENOSPC:-1", "write:ENOSPC:x", "archive:SQLITE_FULL", "archive:EIO:3", "a:b:c:d"] {
            #expect(DiskFault.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func aWriteCrossingTheLimitIsShortAndTheNextFails() throws {
        let fault = try #require(disk("write:EDQUOT:10@/data"))
        #expect(fault.admits(4, path: "/data/a") == .success(4))
        #expect(fault.admits(100, path: "/elsewhere/b") == .success(100))
        #expect(fault.admits(100, path: "/data/a") == .success(6))
        #expect(fault.admits(1, path: "/data/a") == .failure(SystemError(EDQUOT)))
        #expect(fault.refuses(.fsync, path: "/data/a") == nil)
        #expect(fault.refuses(.mkdir, path: "/database") == nil)
    }

    @Test func callsSucceedAfterTimesThenFail() throws {
        let fault = try #require(disk("rename:EIO:2"))
        #expect(fault.refuses(.rename, path: "/a") == nil)
        #expect(fault.refuses(.open, path: "/a") == nil)
        #expect(fault.refuses(.rename, path: "/a") == nil)
        #expect(fault.refuses(.rename, path: "/a") == SystemError(EIO))
    }

    @Test func systemErrorsSayTheSentenceAndTheName() {
        #expect(SystemError(ENOSPC).description == "No space left on device, ENOSPC")
        #expect(SystemError(EROFS).description == "Read-only file system, EROFS")
        #expect(SystemError(EDQUOT).description == "Disk quota exceeded, EDQUOT")
        #expect(SystemError(name: "EDQUOT") == SystemError(EDQUOT))
        #expect(SystemError(4095).name == "errno 4095")
    }

    @Test func writeErrorsNameTheFileAndTheErrno() throws {
        let directory = try TemporaryDirectory()
        try Disk.writeAtomically([1, 2, 3], to: directory.path + "/a/b/file")
        #expect(FileManager.default.contents(atPath: directory.path + "/a/b/file") == Data([1, 2, 3]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path + "/a/b") == ["file"])
        // A file where a folder should be, named with its errno.
        #expect { try Disk.writeAtomically([1], to: directory.path + "/a/b/file/x") } throws: { error in
            "\(error)" == directory.path + "/a/b/file: could not be created (File exists, EEXIST)"
        }
    }
}
