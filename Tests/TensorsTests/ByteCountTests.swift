import Testing
@testable import Tensors

@Suite struct ByteCountTests {
    @Test(arguments: [
        ("5GB", 5_000_000_000), ("5B", 5_000_000_000), ("512MiB", 536_870_912), ("1.5GB", 1_500_000_000),
        ("1000", 1000), ("2kb", 2000), ("3 KiB", 3072), ("1TiB", 1_099_511_627_776), ("10M", 10_000_000),
    ])
    func parses(text: String, bytes: Int) {
        #expect(parseByteCount(text) == bytes)
    }

    @Test(arguments: ["", "GB", "-5GB", "0", "5XB", "1e3", "5 G B", "99999999999TB"])
    func refuses(text: String) {
        #expect(parseByteCount(text) == nil)
    }
}
