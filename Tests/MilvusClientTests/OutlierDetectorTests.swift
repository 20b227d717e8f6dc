import Testing
@testable import MilvusClient

/// Outlier ejection with instants chosen by the test.
@Suite struct OutlierDetectorTests {
    private let t0 = ContinuousClock.now
    private func at(_ ms: Int) -> ContinuousClock.Instant { t0 + .milliseconds(ms) }
    private let policy = OutlierDetector.Policy(consecutiveFailures: 3, failureRate: 0.5, minimumCalls: 10,
                                                window: .seconds(10), baseEjection: .seconds(5), maxEjection: .seconds(12))

    @Test func consecutiveFailuresEjectAnEndpointForItsBackoff() {
        var detector = OutlierDetector(endpoints: 2, policy: policy, now: at(0))
        #expect(detector.record(0, success: false, now: at(1)) == nil)
        #expect(detector.record(0, success: false, now: at(2)) == nil)
        #expect(detector.record(0, success: false, now: at(3)) == .ejected(endpoint: 0, for: .seconds(5)))
        #expect(detector.route(now: at(4)) == ([false, true], nil))
        #expect(detector.route(now: at(5_002)) == ([false, true], nil))
    }

    @Test func aSuccessResetsTheRunOfFailures() {
        var detector = OutlierDetector(endpoints: 2, policy: policy, now: at(0))
        _ = detector.record(0, success: false, now: at(1))
        _ = detector.record(0, success: false, now: at(2))
        _ = detector.record(0, success: true, now: at(3))
        #expect(detector.record(0, success: false, now: at(4)) == nil)
        #expect(detector.route(now: at(5)).allowed == [true, true])
    }

    @Test func aHighFailureRateEjectsWithoutARun() {
        var detector = OutlierDetector(endpoints: 2, policy: policy, now: at(0))
        var change: OutlierDetector.Change?
        for call in 0...10 {
            change = detector.record(1, success: call % 2 == 1, now: at(call))  // every other call fails
        }
        // Never more than 2 failures in a row; at the 11th call, 6 of 11 failed.
        #expect(change == .ejected(endpoint: 1, for: .seconds(5)))
    }

    @Test func afterTheBackoffOneProbeDecides() {
        var detector = OutlierDetector(endpoints: 2, policy: policy, now: at(0))
        for ms in 1...3 { _ = detector.record(0, success: false, now: at(ms)) }
        // The backoff is over: the next call is the probe, and only one call is.
        #expect(detector.route(now: at(5_003)) == ([true, true], 0))
        #expect(detector.route(now: at(5_004)) == ([false, true], nil))
        #expect(detector.record(0, success: true, now: at(5_010)) == .restored(endpoint: 0))
        #expect(detector.route(now: at(5_011)) == ([true, true], nil))
    }

    @Test func aFailedProbeEjectsAgainForLonger() {
        var detector = OutlierDetector(endpoints: 2, policy: policy, now: at(0))
        for ms in 1...3 { _ = detector.record(0, success: false, now: at(ms)) }
        _ = detector.route(now: at(5_003))
        #expect(detector.record(0, success: false, now: at(5_010)) == .ejected(endpoint: 0, for: .seconds(10)))
        _ = detector.route(now: at(15_010))
        #expect(detector.record(0, success: false, now: at(15_020)) == .ejected(endpoint: 0, for: .seconds(12)))  // capped
    }

    @Test func aProbeThatNeverReportsIsReplacedAfterAWindow() {
        var detector = OutlierDetector(endpoints: 2, policy: policy, now: at(0))
        for ms in 1...3 { _ = detector.record(0, success: false, now: at(ms)) }
        #expect(detector.route(now: at(5_003)).probe == 0)
        #expect(detector.route(now: at(14_000)).probe == nil)
        #expect(detector.route(now: at(15_003)).probe == 0)
    }

    @Test func theLastEndpointInRotationIsNeverEjected() {
        var detector = OutlierDetector(endpoints: 2, policy: policy, now: at(0))
        for ms in 1...3 { _ = detector.record(0, success: false, now: at(ms)) }
        for ms in 4...20 { #expect(detector.record(1, success: false, now: at(ms)) == nil) }
        #expect(detector.route(now: at(30)).allowed == [false, true])
    }
}
