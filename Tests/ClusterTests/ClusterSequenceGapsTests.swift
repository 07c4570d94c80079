// Gap counting (ClusterSequenceGaps): the origin's per-subject stamps and the receiver's holes —
// a jump counts the publications skipped, the first event and anything after a coverage break
// (unsubscribe, eviction, a restarted origin) is a baseline, repeats never count. The envelope
// carries the stamp (version 2) and still reads version 1 as untracked.

@testable import BrokerCluster
import XCTest

final class ClusterSequenceGapsTests: XCTestCase {
    private let sub1: UInt = 0x1000
    private let sub2: UInt = 0x2000
    /// libnats' drop count per subscription, as the detector would read it.
    private var drops: [UInt: UInt64] = [:]

    private func receive(
        _ detector: inout SequenceGapDetector, _ stamp: SubjectStamp, topic: String = "t", origin: String = "a", epoch: UInt64 = 7,
        via subscription: UInt
    ) -> UInt64? {
        detector.received(origin: origin, realm: "r", topic: topic, originEpoch: epoch, stamp: stamp, subscription: subscription) {
            drops[$0] ?? 0
        }?.lost
    }

    func testSequencerCountsPerSubjectAndAdvancesOnlyOnCommit() {
        var sequencer = SubjectSequencer(capacity: 4)
        let a1 = sequencer.peek("s.a")
        XCTAssertEqual(a1.sequence, 1)
        XCTAssertEqual(sequencer.peek("s.a"), a1, "not committed (NATS refused it): the next one reuses the number")
        sequencer.commit(a1, subject: "s.a")
        XCTAssertEqual(sequencer.peek("s.a"), SubjectStamp(stream: a1.stream, sequence: 2))
        let b1 = sequencer.peek("s.b")
        XCTAssertEqual(b1.sequence, 1, "another subject counts on its own")
        XCTAssertNotEqual(b1.stream, a1.stream)
        XCTAssertNotEqual(b1.stream, 0, "stream 0 means untracked")
    }

    func testSequencerEvictionRestartsASubjectUnderANewStream() {
        var sequencer = SubjectSequencer(capacity: 2)
        for subject in ["s.a", "s.b"] {
            sequencer.commit(sequencer.peek(subject), subject: subject)
        }
        let before = sequencer.peek("s.a")
        sequencer.commit(sequencer.peek("s.c"), subject: "s.c")  // full: evicts the oldest, s.a
        let after = sequencer.peek("s.a")
        XCTAssertEqual(before.sequence, 2)
        XCTAssertEqual(after.sequence, 1)
        XCTAssertNotEqual(after.stream, before.stream, "a fresh stream: receivers take it as a baseline")

        var detector = SequenceGapDetector()
        detector.subscribed(sub1)
        XCTAssertNil(receive(&detector, SubjectStamp(stream: before.stream, sequence: 1), via: sub1))
        XCTAssertNil(receive(&detector, after, via: sub1), "a restarted subject is no gap")
    }

    func testAJumpCountsTheSkippedPublicationsAndTheFirstIsABaseline() {
        var detector = SequenceGapDetector()
        detector.subscribed(sub1)
        XCTAssertNil(receive(&detector, SubjectStamp(stream: 3, sequence: 40), via: sub1), "first seen: baseline, whatever its number")
        XCTAssertNil(receive(&detector, SubjectStamp(stream: 3, sequence: 41), via: sub1))
        XCTAssertEqual(receive(&detector, SubjectStamp(stream: 3, sequence: 92), via: sub1), 50)
        XCTAssertEqual(
            detector.received(origin: "a", realm: "r", topic: "t", originEpoch: 7, stamp: SubjectStamp(stream: 3, sequence: 94), subscription: sub1) { _ in 0 },
            SequenceGapDetector.Gap(lost: 1, after: 92, sequence: 94))
        XCTAssertNil(receive(&detector, SubjectStamp(stream: 3, sequence: 1), topic: "u", via: sub1), "another topic has its own baseline")
        XCTAssertNil(receive(&detector, SubjectStamp(stream: 3, sequence: 1), origin: "b", via: sub1), "another origin too")
        XCTAssertEqual(receive(&detector, SubjectStamp(stream: 3, sequence: 96), via: sub1), 1, "still counting on topic t from a")
    }

    func testRepeatsAndOlderNumbersAreNotGaps() {
        var detector = SequenceGapDetector()
        detector.subscribed(sub1)
        XCTAssertNil(receive(&detector, SubjectStamp(stream: 1, sequence: 5), via: sub1))
        XCTAssertNil(receive(&detector, SubjectStamp(stream: 1, sequence: 5), via: sub1))
        XCTAssertNil(receive(&detector, SubjectStamp(stream: 1, sequence: 3), via: sub1))
        XCTAssertNil(receive(&detector, SubjectStamp(stream: 1, sequence: 6), via: sub1), "the repeats did not move the baseline")
        XCTAssertNil(receive(&detector, SubjectStamp(stream: 0, sequence: 0), via: sub1), "stream 0: untracked")
    }

    func testAReSubscribeNeverCountsWhatWasPublishedWithoutInterest() {
        var detector = SequenceGapDetector()
        detector.subscribed(sub1)
        XCTAssertNil(receive(&detector, SubjectStamp(stream: 1, sequence: 1), via: sub1))
        detector.unsubscribed(sub1)
        XCTAssertNil(receive(&detector, SubjectStamp(stream: 1, sequence: 2), via: sub1), "a late message of a gone subscription is not tracked")
        detector.subscribed(sub1)  // the same identity again (libnats reused the address): a new generation
        XCTAssertNil(receive(&detector, SubjectStamp(stream: 1, sequence: 30), via: sub1), "no interest meanwhile: a baseline, not 28 lost")
        XCTAssertEqual(receive(&detector, SubjectStamp(stream: 1, sequence: 32), via: sub1), 1)
    }

    func testAnotherLiveSubscriptionKeepsCoverage() {
        var detector = SequenceGapDetector()
        detector.subscribed(sub1)  // e.g. a prefix subscription
        detector.subscribed(sub2)  // and an exact one, both matching topic t
        XCTAssertNil(receive(&detector, SubjectStamp(stream: 1, sequence: 1), via: sub1))
        XCTAssertEqual(receive(&detector, SubjectStamp(stream: 1, sequence: 3), via: sub2), 1, "sub1 still live: coverage never broke")
        detector.unsubscribed(sub2)
        XCTAssertNil(receive(&detector, SubjectStamp(stream: 1, sequence: 9), via: sub1), "the baseline's subscription went: start over")
        XCTAssertEqual(receive(&detector, SubjectStamp(stream: 1, sequence: 11), via: sub1), 1)
        XCTAssertNil(receive(&detector, SubjectStamp(stream: 1, sequence: 12), via: 0x3000), "an unknown subscription is not tracked")
    }

    func testHolesBehindASubscriptionThatDroppedAreNotCountedTwice() {
        var detector = SequenceGapDetector()
        detector.subscribed(sub1)
        detector.subscribed(sub2)
        XCTAssertNil(receive(&detector, SubjectStamp(stream: 1, sequence: 1), via: sub1))
        drops[sub1] = 5  // libnats dropped at sub1's pending limit: counted as slow_consumer
        XCTAssertNil(receive(&detector, SubjectStamp(stream: 1, sequence: 7), via: sub1), "not a gap as well")
        XCTAssertEqual(receive(&detector, SubjectStamp(stream: 1, sequence: 9), via: sub1), 1, "no new drops: counting again")
        drops[sub2] = 3  // the other subscription's drops do not excuse a hole behind sub1
        XCTAssertEqual(receive(&detector, SubjectStamp(stream: 1, sequence: 12), via: sub2), 2)
        drops[sub2] = 4
        XCTAssertNil(receive(&detector, SubjectStamp(stream: 1, sequence: 14), via: sub1), "the baseline's subscription (sub2) dropped")
        XCTAssertEqual(receive(&detector, SubjectStamp(stream: 1, sequence: 20), via: sub1), 5, "sub1's 5 drops were all set against holes")
        drops[sub1] = 7
        XCTAssertEqual(receive(&detector, SubjectStamp(stream: 1, sequence: 26), topic: "t", via: sub1), 3, "2 of the 5 were drops")
        XCTAssertNil(receive(&detector, SubjectStamp(stream: 1, sequence: 1), topic: "u", via: sub1))
        drops[sub1] = 9  // dropped before "u"'s baseline was delivered: still excuses u's hole
        XCTAssertNil(receive(&detector, SubjectStamp(stream: 1, sequence: 4), topic: "u", via: sub1))
    }

    func testARestartedOriginIsABaseline() {
        var detector = SequenceGapDetector()
        detector.subscribed(sub1)
        XCTAssertNil(receive(&detector, SubjectStamp(stream: 1, sequence: 500), epoch: 7, via: sub1))
        XCTAssertNil(receive(&detector, SubjectStamp(stream: 1, sequence: 1), epoch: 8, via: sub1), "new epoch: the restart is no gap")
        XCTAssertEqual(receive(&detector, SubjectStamp(stream: 1, sequence: 4), epoch: 8, via: sub1), 2)
        XCTAssertNil(receive(&detector, SubjectStamp(stream: 2, sequence: 10), epoch: 8, via: sub1), "new stream (evicted at the origin)")
    }

    func testTheReceiverTableIsBoundedAndEvictionOnlyForgets() {
        var detector = SequenceGapDetector(capacity: 3)
        detector.subscribed(sub1)
        for topic in ["t0", "t1", "t2", "t3"] {
            XCTAssertNil(receive(&detector, SubjectStamp(stream: 1, sequence: 1), topic: topic, via: sub1))
        }
        XCTAssertEqual(detector.trackedSubjects, 3)
        XCTAssertNil(receive(&detector, SubjectStamp(stream: 1, sequence: 5), topic: "t0", via: sub1), "t0 was evicted: a baseline")
        XCTAssertEqual(receive(&detector, SubjectStamp(stream: 1, sequence: 5), topic: "t3", via: sub1), 3, "t3 kept its baseline")
        XCTAssertEqual(detector.trackedSubjects, 3)
        for i in 0..<10_000 { _ = receive(&detector, SubjectStamp(stream: 1, sequence: 1), topic: "x\(i)", via: sub1) }
        XCTAssertEqual(detector.trackedSubjects, 3)
    }

    func testTheEnvelopeCarriesTheStampAndReadsVersionOneAsUntracked() throws {
        var publication = ClusterPublication(
            originNode: "n1", originEpoch: 5, originSequence: 9, realm: "r", topic: "a.b", publicationID: 1, publisherSession: 2,
            authid: "x", authrole: "y", discloseMe: false, format: 1, options: [], args: [0x90], kwargs: [])
        (publication.subjectStream, publication.subjectSequence) = (0x0102_0304_0506_0708, 77)
        var bytes = try ClusterEnvelope.encode(publication)
        XCTAssertEqual(bytes[2], 2)
        let decoded = try bytes.withUnsafeBytes { buffer throws(ClusterEnvelope.EnvelopeError) in try ClusterEnvelope.decode(buffer) }
        XCTAssertEqual(decoded, publication)
        // Version 1: the same bytes without the two stamp integers (offset 5 + 4 × 8).
        bytes.removeSubrange(37..<53)
        bytes[2] = 1
        let old = try bytes.withUnsafeBytes { buffer throws(ClusterEnvelope.EnvelopeError) in try ClusterEnvelope.decode(buffer) }
        var expected = publication
        (expected.subjectStream, expected.subjectSequence) = (0, 0)
        XCTAssertEqual(old, expected)
    }
}
