import Engine
import Foundation
import Tensors

/// `amalgam report`'s page: one self-contained HTML file (inline CSS and SVG, no script, nothing
/// fetched), written as well-formed XHTML so that any XML parser reads it (the tests do).
/// Every chart is an `<svg id="…">` whose marks carry the class `mark`; each mark has a `<title>`
/// (the browser's tooltip) naming the candidate and its values.
struct ReportPage {
    let report: RunReport

    /// Text and attribute values as XML 1.0 admits them: the five markup characters as
    /// references, and the characters XML forbids outright (C0 controls but tab, newline and
    /// carriage return, such as a command's ANSI colour codes in an error; U+FFFE, U+FFFF) as U+FFFD.
    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF: out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// An id from any name: letters, digits, `-` and `_` kept, everything else `-`.
    static func identifier(_ name: String) -> String {
        String(name.unicodeScalars.map { scalar in
            (scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || scalar == "-" || scalar == "_")) ? Character(scalar) : "-"
        })
    }

    static func number(_ value: Double, digits: Int = 4) -> String { Format.fixed(value, digits: digits) }

    var html: String {
        let first = report.objectives.first?.name ?? "objective"
        var body = "<h1>Amalgam run: \(Self.escape(report.name))</h1>\n"
        body += summary()
        body += "<h2>The front: calibration against holdout</h2>\n" + frontChart(first)
        for (index, objective) in report.objectives.enumerated().dropFirst() {
            body += "<h2>\(Self.escape(first)) against \(Self.escape(objective.name))</h2>\n" + costChart(index)
        }
        if report.objectives.count < 2 { body += "<p class=\"note\">The space has no cost objective: no accuracy-against-cost chart.</p>\n" }
        body += "<h2>Convergence</h2>\n" + convergenceChart(first)
        body += "<h2>The best recipe</h2>\n" + recipeSection()
        body += "<h2>Front members</h2>\n" + frontTable()
        body += "<h2>Failures and pruning</h2>\n" + failures()
        body += "<h2>Settings</h2>\n" + settings()
        return """
        <!DOCTYPE html>
        <html xmlns="http://www.w3.org/1999/xhtml" lang="en">
        <head>
        <meta charset="utf-8"/>
        <title>Amalgam run \(Self.escape(report.name))</title>
        <style>
        body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1180px; color: #1d232a; padding: 0 16px; }
        h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #d6dbe0; padding-bottom: 4px; }
        table { border-collapse: collapse; font-size: 13px; } td, th { border: 1px solid #d6dbe0; padding: 3px 7px; text-align: right; }
        th { background: #f2f4f6; } td.left, th.left { text-align: left; }
        pre { background: #f6f8fa; padding: 10px; overflow: auto; font-size: 12px; max-height: 420px; }
        .note { color: #5b6570; } .verdict { font-weight: 600; }
        svg { background: #fff; border: 1px solid #e3e6e9; } svg text { font: 11px system-ui, sans-serif; fill: #3a434c; }
        .axis { stroke: #8a949e; stroke-width: 1; } .grid { stroke: #eef0f2; stroke-width: 1; }
        circle.mark { fill: #3572b0; fill-opacity: 0.75; } circle.mark.front { fill: #d9480f; fill-opacity: 0.9; }
        circle.mark.baseline { fill: #2b8a3e; } .diagonal { stroke: #adb5bd; stroke-dasharray: 4 3; }
        line.baseline { stroke: #2b8a3e; stroke-width: 1.5; stroke-dasharray: 6 3; } polyline.mark { fill: none; stroke: #d9480f; stroke-width: 2; }
        rect.unused { fill: #f1f3f5; } .legend { font-size: 12px; color: #5b6570; }
        </style>
        </head>
        <body>
        \(body)</body>
        </html>

        """
    }

    func summary() -> String {
        let status = report.status
        var lines = ["<p>\(report.optimizer), \(status.evaluations) evaluations of \(status.budget.map(String.init) ?? "?") "
            + "(\(status.baselines) baselines among them), \(status.failed) failed, \(status.pruned) pruned, \(status.running) running, "
            + "front \(report.front.count).</p>"]
        if let line = SearchReport.baselineLine(status) { lines.append("<p>\(Self.escape(line))</p>") }
        if let line = SearchReport.verdict(status: status) { lines.append("<p class=\"verdict\">\(Self.escape(line))</p>") }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: Charts

    /// A scatter plot in an SVG of fixed size: points, optional straight lines and a polyline, in
    /// data coordinates, with four ticks on each axis.
    struct Plot {
        var id: String
        var xLabel: String
        var yLabel: String
        var points: [(x: Double, y: Double, classes: String, tip: String)] = []
        var lines: [(x1: Double, y1: Double, x2: Double, y2: Double, classes: String, tip: String)] = []
        var polyline: [(x: Double, y: Double)] = []
        let width = 560.0, height = 360.0, left = 64.0, right = 16.0, top = 14.0, bottom = 44.0

        func domain(_ values: [Double]) -> (Double, Double) {
            guard var low = values.min(), var high = values.max() else { return (0, 1) }
            if high - low < 1e-12 { low -= 0.5; high += 0.5 }
            let pad = (high - low) * 0.06
            return (low - pad, high + pad)
        }

        var svg: String {
            let xs = points.map(\.x) + lines.flatMap { [$0.x1, $0.x2] } + polyline.map(\.x)
            let ys = points.map(\.y) + lines.flatMap { [$0.y1, $0.y2] } + polyline.map(\.y)
            let (x0, x1) = domain(xs), (y0, y1) = domain(ys)
            func px(_ x: Double) -> String { number(left + (x - x0) / (x1 - x0) * (width - left - right), digits: 1) }
            func py(_ y: Double) -> String { number(height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom), digits: 1) }
            var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"\(ReportPage.identifier(id))\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\">\n"
            for step in 0...4 {
                let fx = x0 + (x1 - x0) * Double(step) / 4, fy = y0 + (y1 - y0) * Double(step) / 4
                out += "<line class=\"grid\" x1=\"\(px(fx))\" y1=\"\(number(top, digits: 1))\" x2=\"\(px(fx))\" y2=\"\(number(height - bottom, digits: 1))\"/>"
                out += "<line class=\"grid\" x1=\"\(number(left, digits: 1))\" y1=\"\(py(fy))\" x2=\"\(number(width - right, digits: 1))\" y2=\"\(py(fy))\"/>"
                out += "<text x=\"\(px(fx))\" y=\"\(number(height - bottom + 16, digits: 1))\" text-anchor=\"middle\">\(tick(fx, span: x1 - x0))</text>"
                out += "<text x=\"\(number(left - 6, digits: 1))\" y=\"\(py(fy))\" text-anchor=\"end\" dominant-baseline=\"middle\">\(tick(fy, span: y1 - y0))</text>\n"
            }
            out += "<line class=\"axis\" x1=\"\(number(left, digits: 1))\" y1=\"\(number(height - bottom, digits: 1))\" x2=\"\(number(width - right, digits: 1))\" y2=\"\(number(height - bottom, digits: 1))\"/>"
            out += "<line class=\"axis\" x1=\"\(number(left, digits: 1))\" y1=\"\(number(top, digits: 1))\" x2=\"\(number(left, digits: 1))\" y2=\"\(number(height - bottom, digits: 1))\"/>\n"
            out += "<text x=\"\(number((left + width - right) / 2, digits: 1))\" y=\"\(number(height - 8, digits: 1))\" text-anchor=\"middle\">\(escape(xLabel))</text>"
            out += "<text transform=\"rotate(-90)\" x=\"\(number(-(top + height - bottom) / 2, digits: 1))\" y=\"14\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
            for line in lines {
                out += "<line class=\"\(line.classes)\" x1=\"\(px(line.x1))\" y1=\"\(py(line.y1))\" x2=\"\(px(line.x2))\" y2=\"\(py(line.y2))\"><title>\(escape(line.tip))</title></line>\n"
            }
            if !polyline.isEmpty {
                out += "<polyline class=\"mark\" points=\"\(polyline.map { "\(px($0.x)),\(py($0.y))" }.joined(separator: " "))\"/>\n"
            }
            for point in points {
                out += "<circle class=\"\(point.classes)\" cx=\"\(px(point.x))\" cy=\"\(py(point.y))\" r=\"4\"><title>\(escape(point.tip))</title></circle>\n"
            }
            return out + "</svg>\n"
        }

        func tick(_ value: Double, span: Double) -> String {
            let digits = span >= 100 ? 0 : span >= 1 ? 2 : span >= 0.01 ? 3 : 5
            return abs(value) >= 1e6 ? Format.scientific(value, digits: 1) : number(value, digits: digits)
        }
    }

    func label(_ point: RunReport.Point) -> String {
        "#\(point.id) " + (point.baseline.map { "baseline \($0) (\(point.method))" } ?? point.method)
    }

    func frontChart(_ first: String) -> String {
        let members = report.points.filter { $0.onFront && $0.holdout != nil }
        guard !members.isEmpty else { return "<p class=\"note\">No front member has its holdout scores yet.</p>\n" }
        var plot = Plot(id: "front-holdout", xLabel: "\(first), calibration", yLabel: "\(first), holdout")
        for point in members {
            let holdout = point.holdout ?? 0
            plot.points.append((point.objectives[0], holdout, point.baseline == nil ? "mark front" : "mark baseline",
                                "\(label(point)): calibration \(Self.number(point.objectives[0])), holdout \(Self.number(holdout))"))
        }
        let values = members.flatMap { point -> [Double] in [point.objectives[0], point.holdout ?? 0] }
        if let low = values.min(), let high = values.max() { plot.lines.append((low, low, high, high, "diagonal", "holdout = calibration")) }
        return plot.svg + "<p class=\"legend\">One mark per front member with holdout scores (green: a baseline). Above the dashed diagonal, a member does better on the holdout split than on calibration.</p>\n"
    }

    func costChart(_ index: Int) -> String {
        let first = report.objectives[0].name, cost = report.objectives[index].name
        var plot = Plot(id: "cost-\(Self.identifier(cost))", xLabel: cost, yLabel: "\(first), calibration")
        for point in report.points {
            let classes = point.baseline != nil ? "mark baseline" : point.onFront ? "mark front" : "mark"
            plot.points.append((point.objectives[index], point.objectives[0], classes,
                                "\(label(point)): \(first) \(Self.number(point.objectives[0])), \(cost) \(Self.number(point.objectives[index]))"))
        }
        guard !plot.points.isEmpty else { return "<p class=\"note\">No finished candidate yet.</p>\n" }
        return plot.svg + "<p class=\"legend\">One mark per finished candidate: orange on the front, green a baseline.</p>\n"
    }

    func convergenceChart(_ first: String) -> String {
        guard !report.convergence.isEmpty else { return "<p class=\"note\">No searched candidate has finished yet.</p>\n" }
        var plot = Plot(id: "convergence", xLabel: "evaluations (baselines included)", yLabel: "best \(first) so far, calibration")
        plot.polyline = report.convergence.map { (Double($0.evaluations), $0.best) }
        if let baseline = report.status.bestBaseline, let start = report.convergence.first, let end = report.convergence.last {
            plot.lines.append((Double(start.evaluations), baseline.value, Double(end.evaluations), baseline.value, "baseline",
                               "best baseline \(baseline.name): \(Self.number(baseline.value))"))
        }
        return plot.svg + "<p class=\"legend\">The best searched candidate after each evaluation; the dashed green line is the best baseline.</p>\n"
    }

    func recipeSection() -> String {
        guard let best = report.bestCandidate else { return "<p class=\"note\">No searched candidate has finished yet.</p>\n" }
        var out = "<p>Candidate #\(best.id), the best searched candidate on calibration.</p>\n"
        if report.heatmaps.isEmpty { out += "<p class=\"note\">\(Self.escape(report.heatmapNote ?? "The recipe sets no weight or density per source."))</p>\n" }
        for map in report.heatmaps { out += heatmap(map) }
        return out + "<pre>\(Self.escape(best.recipe))</pre>\n"
    }

    func heatmap(_ map: RunReport.Heatmap) -> String {
        let cell = (width: 34.0, height: 20.0), labelWidth = 150.0, header = 22.0
        let layers = map.values.first?.count ?? 0
        let known = map.values.flatMap { $0.compactMap { $0 } }
        let low = known.min() ?? 0, high = known.max() ?? 1
        let width = labelWidth + Double(layers) * cell.width + 10, height = header + Double(map.rows.count) * cell.height + 8
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"recipe-\(Self.identifier(map.parameter))\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\">\n"
        for layer in 0..<layers {
            out += "<text x=\"\(Self.number(labelWidth + (Double(layer) + 0.5) * cell.width, digits: 1))\" y=\"15\" text-anchor=\"middle\">\(layer)</text>"
        }
        out += "\n"
        for (row, name) in map.rows.enumerated() {
            let y = header + Double(row) * cell.height
            out += "<text x=\"\(Self.number(labelWidth - 6, digits: 1))\" y=\"\(Self.number(y + cell.height / 2, digits: 1))\" text-anchor=\"end\" dominant-baseline=\"middle\">\(Self.escape(name))</text>"
            for layer in 0..<layers {
                let x = labelWidth + Double(layer) * cell.width
                let position = "x=\"\(Self.number(x, digits: 1))\" y=\"\(Self.number(y, digits: 1))\" width=\"\(Self.number(cell.width - 2, digits: 1))\" height=\"\(Self.number(cell.height - 2, digits: 1))\""
                guard let value = map.values[row][layer] else {
                    out += "<rect class=\"mark unused\" \(position)><title>\(Self.escape(name)), layer \(layer): not used</title></rect>"
                    continue
                }
                let share = high > low ? (value - low) / (high - low) : 0.5
                // From a pale blue to a deep blue as the value grows.
                let color = (r: Int(230 - 200 * share), g: Int(240 - 150 * share), b: Int(250 - 90 * share))
                out += "<rect class=\"mark\" \(position) fill=\"rgb(\(color.r),\(color.g),\(color.b))\"><title>\(Self.escape(name)), layer \(layer): \(map.parameter) \(Self.number(value))</title></rect>"
            }
            out += "\n"
        }
        return out + "</svg>\n<p class=\"legend\">\(map.parameter) per source and layer, \(Self.number(low, digits: 3)) (pale) to \(Self.number(high, digits: 3)) (deep).</p>\n"
    }

    // MARK: Tables

    func frontTable() -> String {
        guard !report.front.isEmpty else { return "<p class=\"note\">The front is empty.</p>\n" }
        let tasks = Array(Set(report.front.flatMap { $0.calibration.map(\.0) })).sorted()
        var out = "<table id=\"front-table\">\n<tr><th>id</th><th class=\"left\">what</th>"
        out += report.objectives.map { "<th>\(Self.escape($0.name))</th>" }.joined()
        out += tasks.map { "<th>\(Self.escape($0)) holdout (gap)</th>" }.joined()
        out += "<th>vs best baseline, holdout [95% interval]</th><th>better in</th></tr>\n"
        for entry in report.front {
            out += "<tr class=\"member\"><td>#\(entry.id)</td><td class=\"left\">\(Self.escape(entry.baseline.map { "baseline \($0) (\(entry.method))" } ?? entry.method))</td>"
            out += entry.objectives.map { "<td>\(Self.number($0.1))</td>" }.joined()
            for task in tasks {
                let holdout = entry.holdout.first { $0.0 == task }?.1, gap = entry.gap.first { $0.0 == task }?.1
                out += "<td>\(holdout.map { Self.number($0, digits: 3) } ?? "-")\(gap.map { " (\(SearchReport.signed($0)))" } ?? "")</td>"
            }
            if let comparison = entry.vsBaseline {
                let r = comparison.result
                out += "<td>\(SearchReport.signed(r.difference)) [\(SearchReport.signed(r.low)), \(SearchReport.signed(r.high))] vs \(Self.escape(comparison.baseline))</td>"
                out += "<td>\(Self.number(100 * r.pBetter, digits: 0))%</td>"
            } else {
                out += "<td>-</td><td>-</td>"
            }
            out += "</tr>\n"
        }
        return out + "</table>\n"
    }

    func failures() -> String {
        let counts = report.counts
        var out = "<p>done \(counts[.done] ?? 0), failed \(counts[.failed] ?? 0), pruned \(counts[.pruned] ?? 0), duplicates \(counts[.duplicate] ?? 0), "
            + "pending \(counts[.pending] ?? 0), running \(counts[.running] ?? 0).</p>\n"
        if !report.failures.isEmpty {
            out += "<table id=\"failures\">\n<tr><th>id</th><th class=\"left\">error</th></tr>\n"
            for failure in report.failures { out += "<tr><td>#\(failure.id)</td><td class=\"left\">\(Self.escape(failure.error))</td></tr>\n" }
            out += "</table>\n"
        }
        return out
    }

    func settings() -> String {
        let info = report.runInfo.sorted { $0.key < $1.key }.map { "<tr><td class=\"left\">\(Self.escape($0.key))</td><td class=\"left\">\(Self.escape($0.value))</td></tr>" }
        return "<table id=\"run-info\">\n\(info.joined(separator: "\n"))\n</table>\n<p>The frozen space (space.yaml):</p>\n<pre>\(Self.escape(report.spaceText))</pre>\n"
    }
}
