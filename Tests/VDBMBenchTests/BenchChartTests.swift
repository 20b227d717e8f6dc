import Histogram
import Testing
@testable import VDBMBench

/// The --html page: one section per run between the markers a driver stitches by, both charts
/// drawn from the run's own numbers, titles escaped.
@Suite struct BenchChartTests {
    private func report(latencies: [UInt64], completions: [Int]) -> BenchReport {
        var histogram = Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
        for latency in latencies { _ = histogram.record(latency) }
        return BenchReport(plan: BenchPlan(collection: "docs"), elapsed: .seconds(1), latency: histogram,
                           outcomes: ["OK": latencies.count], completions: completions)
    }

    private func points(_ svg: Substring) -> [(Double, Double)] {
        guard let start = svg.firstRange(of: "points=\"")?.upperBound, let end = svg[start...].firstIndex(of: "\"") else { return [] }
        return svg[start..<end].split(separator: " ").map { pair in
            let xy = pair.split(separator: ",").map { Double($0)! }
            return (xy[0], xy[1])
        }
    }

    private func charts(_ page: String) -> [Substring] {
        page.split(separator: "<svg").dropFirst().map { $0 }
    }

    @Test func eachRunIsOneMarkedSectionWithTwoCharts() {
        let page = BenchChart.page([("a <b>", report(latencies: [1000, 2000], completions: [1, 1])),
                                    ("c", report(latencies: [500], completions: [1]))])
        #expect(page.ranges(of: BenchChart.sectionStart).count == 2)
        #expect(page.ranges(of: BenchChart.sectionEnd).count == 2)
        #expect(charts(page).count == 4)
        #expect(page.contains("<h2>a &lt;b&gt;</h2>") && !page.contains("<b>"))
    }

    @Test func thePercentileLineRisesToTheSlowestCallAtTheTail() {
        // 999 calls of 1 ms and one of 100 ms: flat at 1 ms, then up to 100 ms in the last decade.
        let page = BenchChart.page([("run", report(latencies: Array(repeating: 1000, count: 999) + [100_000], completions: [1000]))])
        let line = points(charts(page)[0])
        #expect(line.count == 3 * 20 + 1)  // a thousand calls: three decades, twenty points each
        let ys = line.map(\.1)
        #expect(ys.first == ys[30])  // up to the 96.8th percentile (x = 1.5) every call took 1 ms
        #expect(ys.last! < ys.first!)  // SVG y grows downwards: the tail is higher
        #expect(zip(ys, ys.dropFirst()).allSatisfy { $0.0 >= $0.1 })  // never falls
    }

    @Test func throughputHasOnePointPerSlotScaledToTheBusiestSlot() {
        let page = BenchChart.page([("run", report(latencies: [1000], completions: [10, 20, 5, 20]))])
        let line = points(charts(page)[1])
        #expect(line.count == 4)
        #expect(line[1].1 == line[3].1 && line[1].1 < line[0].1 && line[0].1 < line[2].1)
        #expect(line.map(\.0) == line.map(\.0).sorted())
    }

    @Test func axesEndAtRoundNumbers() {
        #expect(BenchChart.niceCeiling(0.7) == 1)
        #expect(BenchChart.niceCeiling(13) == 20)
        #expect(BenchChart.niceCeiling(41) == 50)
        #expect(BenchChart.niceCeiling(100) == 100)
        #expect(BenchChart.niceCeiling(0) == 1)
        #expect(BenchChart.percentileLabel(1) == "90%" && BenchChart.percentileLabel(2) == "99%")
        #expect(BenchChart.percentileLabel(3) == "99.9%" && BenchChart.percentileLabel(5) == "99.999%")
    }
}
