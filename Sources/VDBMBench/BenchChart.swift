#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// `vdbm bench --html`: one self-contained HTML page (inline SVG, no scripts, nothing fetched)
/// with, for each run, its latency by percentile (HdrHistogram's percentile distribution: the x
/// axis is 1/(1 - percentile) on a log scale, so the tail gets as much room as the median) and
/// its throughput over time (calls finished per `BenchReport.slot`).
///
/// Every run is one `<section>` between marker comments, so a driver that ran several targets
/// (scripts/bench-search) can stitch their sections into one page.
public enum BenchChart {
    public static let sectionStart = "<!-- vdbm-bench-section -->"
    public static let sectionEnd = "<!-- /vdbm-bench-section -->"

    /// The page for `reports`, each under its title.
    public static func page(_ reports: [(title: String, report: BenchReport)]) -> String {
        page(sections: reports.map { section(title: $0.title, report: $0.report) })
    }

    /// A page around sections `section(title:report:)` made (possibly by other runs).
    public static func page(sections: [String]) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>vdbm bench</title>
        <style>body{font:14px sans-serif;margin:24px;color:#222}section{margin-bottom:32px}
        svg{background:#fff;border:1px solid #ddd;margin-right:16px}text{font:11px sans-serif;fill:#333}
        .grid{stroke:#eee}.axis{stroke:#999}.line{fill:none;stroke:#1f77b4;stroke-width:2}
        .rate{fill:none;stroke:#d62728;stroke-width:2}</style></head><body>
        <h1>vdbm bench</h1>
        \(sections.joined(separator: "\n"))
        </body></html>

        """
    }

    /// One run's section: a summary line and its two charts.
    public static func section(title: String, report: BenchReport) -> String {
        let summary = "\(report.calls) calls in \(fixed(report.seconds, 2)) s, \(fixed(report.qps, 1)) calls/s; "
            + "p50 \(fixed(report.milliseconds(at: 50), 3)) ms, p99 \(fixed(report.milliseconds(at: 99), 3)) ms, "
            + "max \(fixed(report.maxMilliseconds, 3)) ms; concurrency \(report.plan.concurrency)"
        return """
            \(sectionStart)
            <section><h2>\(escaped(title))</h2><p>\(escaped(summary))</p>
            \(percentileChart(report))
            \(throughputChart(report))
            </section>
            \(sectionEnd)
            """
    }

    // MARK: Charts

    private static let width = 560.0, height = 300.0
    private static let left = 60.0, right = 16.0, top = 16.0, bottom = 44.0

    /// Latency (ms, linear) against percentile (log10 of 1/(1 - p), 0 to the run's depth).
    static func percentileChart(_ report: BenchReport) -> String {
        // As deep into the tail as the run has samples for: 99.9% needs a thousand calls.
        let count = max(1, Double(report.latency.totalCount))
        let depth = max(1, min(6, Int(log10(count).rounded(.down))))
        let steps = depth * 20
        // The last point is the slowest call (100%), drawn at the right edge.
        let points: [(Double, Double)] = (0...steps).map { step in
            let x = Double(step) / 20
            let percentile = step == steps ? 100 : 100 * (1 - pow10(-x))
            return (x, report.milliseconds(at: percentile))
        }
        let maxY = niceCeiling(points.map(\.1).max() ?? 1)
        var ticks = ""
        for decade in 0...depth {
            let label = decade == 0 ? "0%" : decade == depth ? "max" : percentileLabel(decade)
            ticks += xTick(at: Double(decade) / Double(depth), label: label)
        }
        return chart(title: "latency by percentile", xLabel: "percentile", yLabel: "ms", maxY: maxY, ticks: ticks,
                     path: polyline(points.map { ($0.0 / Double(depth), $0.1 / maxY) }), style: "line")
    }

    /// Calls finished per second, slot by slot over the measured phase. Only whole slots: the
    /// last calls end after the phase stops, and their part-filled slot would read as a drop.
    static func throughputChart(_ report: BenchReport) -> String {
        let perSecond = 1.0 / BenchReport.slotSeconds
        let whole = max(1, Int((report.seconds / BenchReport.slotSeconds).rounded(.down)))
        let rates = report.completions.prefix(whole).map { Double($0) * perSecond }
        let maxY = niceCeiling(rates.max() ?? 1)
        let span = Double(max(1, rates.count))
        var ticks = ""
        let seconds = span * BenchReport.slotSeconds
        let every = max(1.0, (seconds / 5).rounded(.up))
        var mark = 0.0
        while mark <= seconds + 1e-9 {
            ticks += xTick(at: mark / seconds, label: "\(Int(mark)) s")
            mark += every
        }
        // Each slot's rate drawn at the slot's middle.
        let points = rates.enumerated().map { (index, rate) in ((Double(index) + 0.5) / span, rate / maxY) }
        return chart(title: "throughput over time", xLabel: "time", yLabel: "calls/s", maxY: maxY, ticks: ticks,
                     path: polyline(points), style: "rate")
    }

    private static func chart(title: String, xLabel: String, yLabel: String, maxY: Double, ticks: String, path: String,
                              style: String) -> String {
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        var grid = ""
        for step in 0...4 {
            let y = top + plotHeight * (1 - Double(step) / 4)
            grid += "<line class=\"grid\" x1=\"\(n(left))\" y1=\"\(n(y))\" x2=\"\(n(left + plotWidth))\" y2=\"\(n(y))\"/>"
            grid += "<text x=\"\(n(left - 6))\" y=\"\(n(y + 4))\" text-anchor=\"end\">\(short(maxY * Double(step) / 4))</text>"
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(n(width))" height="\(n(height))" role="img" \
            aria-label="\(title)"><title>\(title)</title>\(grid)\
            <line class="axis" x1="\(n(left))" y1="\(n(top + plotHeight))" x2="\(n(left + plotWidth))" y2="\(n(top + plotHeight))"/>\
            <line class="axis" x1="\(n(left))" y1="\(n(top))" x2="\(n(left))" y2="\(n(top + plotHeight))"/>\(ticks)\
            <polyline class="\(style)" points="\(path)"/>\
            <text x="\(n(left + plotWidth / 2))" y="\(n(height - 6))" text-anchor="middle">\(xLabel)</text>\
            <text x="14" y="\(n(top + plotHeight / 2))" text-anchor="middle" transform="rotate(-90 14 \(n(top + plotHeight / 2)))">\
            \(yLabel)</text><text x="\(n(left + 8))" y="\(n(top + 12))">\(title)</text></svg>
            """
    }

    /// Points in 0...1 × 0...1 (y up) as SVG coordinates.
    private static func polyline(_ points: [(Double, Double)]) -> String {
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        return points.map { x, y in
            "\(n(left + plotWidth * min(max(x, 0), 1))),\(n(top + plotHeight * (1 - min(max(y, 0), 1))))"
        }.joined(separator: " ")
    }

    private static func xTick(at fraction: Double, label: String) -> String {
        let plotWidth = width - left - right, y = height - bottom
        let x = left + plotWidth * fraction
        return "<line class=\"grid\" x1=\"\(n(x))\" y1=\"\(n(top))\" x2=\"\(n(x))\" y2=\"\(n(y))\"/>"
            + "<text x=\"\(n(x))\" y=\"\(n(y + 16))\" text-anchor=\"middle\">\(label)</text>"
    }

    /// "90%", "99%", "99.9%", ... for decade 1, 2, 3, ...
    static func percentileLabel(_ decade: Int) -> String {
        switch decade {
        case ...1: "90%"
        case 2: "99%"
        default: "99." + String(repeating: "9", count: decade - 2) + "%"
        }
    }

    /// The next 1, 2 or 5 times a power of ten at or above `value` (an axis's top).
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        var magnitude = 1.0
        while magnitude * 10 <= value { magnitude *= 10 }
        while magnitude > value { magnitude /= 10 }
        for factor in [1.0, 2, 5, 10] where factor * magnitude >= value { return factor * magnitude }
        return 10 * magnitude
    }

    private static func n(_ value: Double) -> String { fixed(value, 1) }
    private static func short(_ value: Double) -> String { value >= 100 ? fixed(value, 0) : fixed(value, value >= 10 ? 1 : 2) }

    private static func escaped(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }

    private static func pow10(_ exponent: Double) -> Double { pow(10, exponent) }
}
