// ClusterNode+Publisher: the publisher thread's side of ClusterNode — the drained batches of the
// node's ClusterPublishQueue go to NATS here, consecutive publications on one subject packed into
// one NATS message (ClusterBatch), each with its origin and subject sequence numbers.

import CNats

extension ClusterNode {
    /// Publications one link-lock hold covers at most: amortises the lock over a batch, yet a
    /// loop thread changing interest (which takes the lock) never waits behind a whole backlog.
    /// The staged NATS message goes out at the end of each hold, so it also caps a batch's count.
    static let publicationsPerLock = 256

    /// Publisher thread: one drained batch, in order, `publicationsPerLock` at a time under the
    /// link lock; consecutive publications on one subject share a NATS message (ClusterBatch).
    /// Once the node is stopping, what is left of the batch is counted lost instead.
    func send(_ batch: [ClusterPublishQueue.Outgoing]) {
        var start = 0
        while start < batch.count {
            let end = min(batch.count, start + Self.publicationsPerLock)
            start = link.withLock { link in
                var next = start
                while next < end, !stopping.load(ordering: .relaxed) {
                    stage(batch[next], link: &link)
                    next += 1
                }
                if publisherScratch.batch.count > 0 { sendStaged(link: &link) }
                return next
            }
            if start < end {
                return countLost(batch.count - start, on: "(any)", NatsError(NATS_CONNECTION_CLOSED, "node stopping"))
            }
        }
    }

    /// Publisher thread, under the link lock: fills in the origin fields and adds the envelope to
    /// the staged NATS message, sending the staged one first when the subject changes or the byte
    /// cap is reached. Sequence numbers are taken as if each staged publication had been sent; they
    /// count only once NATS took the message (`sendStaged`), so sequence order is wire order.
    private func stage(_ publication: ClusterPublication, link: inout (connection: NatsConnection?, sequence: UInt64)) {
        guard let subject = publisherScratch.subject(realm: publication.realm, topic: publication.topic) else {
            counters.subjectTooLong.bump()
            return
        }
        var outgoing = publication
        outgoing.originNode = nodeName
        outgoing.originEpoch = epoch
        if !publisherScratch.batch.accepts(subject: subject, size: ClusterEnvelope.encodedSize(outgoing)) { sendStaged(link: &link) }
        if publisherScratch.batch.count == 0 { publisherScratch.stamp = subjectSequencer.peek(subject) }
        let staged = UInt64(publisherScratch.batch.count)
        outgoing.originSequence = link.sequence + 1 + staged
        (outgoing.subjectStream, outgoing.subjectSequence) = (publisherScratch.stamp.stream, publisherScratch.stamp.sequence + staged)
        do throws(ClusterEnvelope.EnvelopeError) {
            try publisherScratch.batch.append(outgoing, subject: subject)
        } catch {
            countLost(1, on: subject, NatsError(NATS_INVALID_ARG, "encode \(error)"))
        }
    }

    /// Publisher thread, under the link lock: publishes the staged message. When NATS refuses it,
    /// every publication in it is lost (counted) and its sequence numbers are not used.
    private func sendStaged(link: inout (connection: NatsConnection?, sequence: UInt64)) {
        let count = publisherScratch.batch.count
        let subject = publisherScratch.batch.subject ?? ""
        let failure: NatsError? = {
            guard let connection = link.connection else {
                publisherScratch.batch.take { _ in }
                return NatsError(NATS_CONNECTION_CLOSED, "publish")
            }
            let refused: NatsError? = publisherScratch.batch.take { message in
                do throws(NatsError) { try connection.publish(subject: subject, message) } catch { return error }
                return nil
            }
            if let refused { return refused }
            link.sequence += UInt64(count)
            var last = publisherScratch.stamp
            last.sequence += UInt64(count - 1)
            subjectSequencer.commit(last, subject: subject)
            return nil
        }()
        if let failure { return countLost(count, on: subject, failure) }
        counters.published.wrappingAdd(UInt64(count), ordering: .relaxed)
        counters.natsMessagesPublished.bump()
    }

    /// Every loss is counted; the log follows the 1st, 2nd, 4th, 8th… so an outage cannot flood it.
    private func countLost(_ count: Int, on subject: String, _ failure: NatsError) {
        let lost = counters.publishFailed.wrappingAdd(UInt64(count), ordering: .relaxed).newValue
        let before = lost - UInt64(count)
        if before == 0 || before.leadingZeroBitCount != lost.leadingZeroBitCount {
            log("cluster: \(count) publication(s) on subject \(subject) lost (\(lost) so far): \(failure)")
        }
    }
}

/// What the publisher thread reuses from one publication to the next: the NATS message being
/// filled and its first subject stamp, and the last (realm, topic) → subject (a stream on one
/// topic escapes its subject once, not per publication; that escaping was the biggest single
/// cost of forwarding).
struct PublisherScratch {
    var batch = ClusterBatch.Writer()
    var stamp = SubjectStamp(stream: 0, sequence: 0)
    private var last: (realm: String, topic: String, subject: String?)?

    /// nil when the topic cannot be a subject (too long).
    mutating func subject(realm: String, topic: String) -> String? {
        if let last, last.topic == topic, last.realm == realm { return last.subject }
        let subject = ClusterSubject.publication(realm: realm, topic: topic)
        last = (realm, topic, subject)
        return subject
    }
}
