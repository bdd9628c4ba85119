import Archive
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// Baselines, their confidence and the report, through the release binary on the demo zoo: the
/// report parses as XML (it is written as XHTML) and each chart has one mark per thing it draws.
@Suite(.serialized) struct ReportCommandTests {
    final class Runs {
        let path = NSTemporaryDirectory() + "amalgam-report-" + UUID().uuidString
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Counts each chart's marks: circles and rects of class `mark` and a polyline's points, by the id of the enclosing svg or table.
    final class Marks: NSObject, XMLParserDelegate {
        var chart: String?
        var table: String?
        var circles: [String: Int] = [:]
        var rects: [String: Int] = [:]
        var polylinePoints: [String: Int] = [:]
        var tableRows: [String: Int] = [:]
        var svgs: [String] = []

        func parser(_ parser: XMLParser, didStartElement element: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            let classes = (attributes["class"] ?? "").split(separator: " ")
            switch element {
            case "svg":
                chart = attributes["id"]
                svgs.append(attributes["id"] ?? "?")
            case "table": table = attributes["id"]
            case "tr" where classes.contains("member"): tableRows[table ?? "?", default: 0] += 1
            case "circle" where classes.contains("mark"): circles[chart ?? "?", default: 0] += 1
            case "rect" where classes.contains("mark"): rects[chart ?? "?", default: 0] += 1
            case "polyline" where classes.contains("mark"):
                polylinePoints[chart ?? "?", default: 0] += (attributes["points"] ?? "").split(separator: " ").count
            default: break
            }
        }

        func parser(_ parser: XMLParser, didEndElement element: String, namespaceURI: String?, qualifiedName: String?) {
            if element == "svg" { chart = nil }
            if element == "table" { table = nil }
        }
    }

    @Test func baselinesConfidenceAndTheReportOfADemoRun() throws {
        let runs = try Runs()
        let run = runs.path + "/demo"
        let search = try CLI.run(["search", "search-spaces/demo.yaml", "--run", run, "--evaluations", "16", "--workers", "2"])
        #expect(search.status == 0, "\(search.stderr)")
        // The closing lines name the best baseline and say whether the winner beats it on the holdout split.
        #expect(search.stdout.contains("best baseline: "), "\(search.stdout)")
        #expect(search.stdout.contains("holdout: the best candidate #") && search.stdout.contains("paired bootstrap resamples"), "\(search.stdout)")

        let archive = try SQLiteArchive(path: run + "/archive.sqlite", reader: true)
        let candidates = try archive.candidates()
        #expect(candidates.prefix(7).map(\.baseline) == ["base", "add", "rev", "facts", "ties", "dare_ties", "task_arithmetic"])

        let status = try CLI.run(["status", run, "--json"])
        #expect(status.status == 0 && status.stdout.contains("\"best_baseline\":{") && status.stdout.contains("\"baselines\":7"), "\(status.stdout)")
        let statusObject = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        let bestBaseline = try #require((statusObject["best_baseline"] as? [String: Any])?["id"] as? Int)
        let watch = try CLI.run(["status", run, "--watch", "--interval", "0.1"], deadline: 60)
        #expect(watch.status == 0 && watch.stdout.contains("no search is writing this run"), "\(watch.stdout)")

        let front = try CLI.run(["front", run, "--json"])
        #expect(front.status == 0, "\(front.stderr)")
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(front.stdout.utf8)) as? [[String: Any]])
        #expect(!entries.isEmpty && entries.allSatisfy { $0.keys.contains("baseline") && $0.keys.contains("vs_baseline") })
        // Every member but the best baseline itself is compared with it (all have holdout scores
        // once the search has ended).
        for entry in entries {
            let compared = entry["vs_baseline"] is [String: Any]
            #expect(compared == ((entry["id"] as? Int) != bestBaseline), "\(entry)")
        }
        let compared = entries.compactMap { $0["vs_baseline"] as? [String: Any] }
        for comparison in compared {
            let low = comparison["low"] as? Double ?? .nan, high = comparison["high"] as? Double ?? .nan, diff = comparison["diff"] as? Double ?? .nan
            let share = comparison["p_better"] as? Double ?? .nan
            #expect(low <= diff && diff <= high && (0...1).contains(share) && comparison["name"] is String)
        }

        let out = runs.path + "/report.html"
        let report = try CLI.run(["report", run, "--out", out])
        #expect(report.status == 0 && report.stdout.contains(out), "\(report.stderr)")
        let data = try #require(FileManager.default.contents(atPath: out))
        let html = String(decoding: data, as: UTF8.self)
        // Self-contained: no script, nothing to fetch (the only URLs are the XML namespaces' names).
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("href=") && !html.contains("url("))
        let parser = XMLParser(data: data)
        let marks = Marks()
        parser.delegate = marks
        #expect(parser.parse(), "the report is not well-formed: \(parser.parserError.map { "\($0)" } ?? "?")")
        // A density map only when the best recipe's method reads densities.
        #expect(marks.svgs.prefix(4) == ["front-holdout", "cost-density", "convergence", "recipe-weight"])
        #expect(marks.svgs.dropFirst(4).allSatisfy { $0 == "recipe-density" })
        let done = candidates.filter { $0.status == .done }
        let withHoldout = Set(try archive.scores(candidate: nil).filter { $0.split == .holdout }.map(\.candidate))
        #expect(marks.circles["front-holdout"] == entries.filter { withHoldout.contains($0["id"] as? Int ?? -1) }.count)
        #expect(marks.circles["cost-density"] == done.count)
        let searched = candidates.filter { $0.baseline == nil && $0.status.isFinished }
        #expect(marks.polylinePoints["convergence"] == searched.count)
        // 3 sources × (self_attn, mlp, other) rows × 4 layers.
        #expect(marks.rects["recipe-weight"] == 36)
        #expect(marks.tableRows["front-table"] == entries.count)
    }
}
