// BenchConnection over the NATS text protocol (nats:// URLs), so nats-server is measured by the
// same tool, with the same payload `[TS,N,"xxx…"]` and the same accounting as FastBroker.
// WAMP's handshake, SUBSCRIBED and PUBLISHED map onto PING/PONG: after INFO we send CONNECT and
// PING (its PONG = WELCOME); each SUB and each publication that asks for an acknowledgement is
// followed by PING, and NATS answers PINGs in order after handling what came before, so that PONG
// means the subscription is in place, or the publications up to it were read.
// WAMP → NATS: topic URIs are subjects as they are; a prefix subscription to TOPIC is `TOPIC.>`, a
// wildcard one to `A..B` is `A.*.B`; a shared group is a queue group; filters have no equivalent.

import BrokerWire

enum NATSPong {
    case ready
    case subscribed(sid: UInt64)
    case acknowledged(sequence: UInt64)
}

extension BenchConnection {
    private func sendPing(_ meaning: NATSPong) {
        appendRaw(Array("PING\r\n".utf8))
        natsPongs.append(meaning)
    }

    /// SUB with `sid` as the subscription id; `options` is the WAMP SUBSCRIBE options text
    /// (match and shared group are read from it).
    func natsSubscribe(subject: String, options: String, sid: UInt64, flushNow: Bool) {
        var subject = subject
        if options.contains(#""match":"prefix""#) { subject += ".>" }
        if options.contains(#""match":"wildcard""#) { subject = subject.split(separator: ".", omittingEmptySubsequences: false)
            .map { $0.isEmpty ? "*" : String($0) }.joined(separator: ".") }
        let queueGroup = options.contains(#""type":"shared""#) ? " g" : ""
        appendRaw(Array("SUB \(subject)\(queueGroup) \(sid)\r\n".utf8))
        sendPing(.subscribed(sid: sid))
        if flushNow { flush() }
    }

    /// `PUB subject n\r\n[TS,N,"xxx…"]\r\n`, then PING when `acknowledge` carries the publication's sequence.
    @inline(__always)
    func natsPublish(subject: UnsafeRawBufferPointer, payloadBytes: Int, timestamp: UInt64, publication: UInt64,
                     acknowledge: UInt64?) {
        var payload = MessageWriter(base: scratch, capacity: scratchCapacity)
        payload.appendStampedPayload(timestamp: timestamp, publication: publication, payloadBytes: payloadBytes)
        let destination = output.reserve(subject.count + payload.count + 40)
        var line = MessageWriter(base: destination, capacity: subject.count + payload.count + 40)
        line.append("PUB ")
        line.append(subject)
        line.append(" ")
        line.append(decimal: UInt64(payload.count))
        line.append("\r\n")
        line.append(UnsafeRawBufferPointer(start: scratch, count: payload.count))
        line.append("\r\n")
        output.commit(line.count)
        if let sequence = acknowledge { sendPing(.acknowledged(sequence: sequence)) }
    }

    func drainNATS(_ now: UInt64) {
        while !isClosed {
            switch natsDecoder.next(ring) {
            case .needMore:
                return
            case .info:
                guard !isWelcomed && natsPongs.isEmpty else { continue }
                appendRaw(Array(#"CONNECT {"verbose":false,"pedantic":false,"echo":false,"name":"fastbench"}"#.utf8) + [13, 10])
                sendPing(.ready)
                flush()
            case .ping:
                appendRaw(Array("PONG\r\n".utf8))
            case .pong:
                guard natsPongHead < natsPongs.count else {
                    fail("NATS server sent PONG without a PING")
                    return
                }
                let meaning = natsPongs[natsPongHead]
                natsPongHead += 1
                if natsPongHead == natsPongs.count {
                    natsPongs.removeAll(keepingCapacity: true)
                    natsPongHead = 0
                }
                natsPong(meaning)
            case .ok:
                break
            case .error(let text):
                fail("NATS server sent \(text)")
            case .message(let sid, let payload):
                guard let stamp = EventStamp.parsePayload(payload, subscription: sid) else {
                    fail("NATS MSG whose payload does not start with [timestamp, publication")
                    return
                }
                received += 1
                run.eventArrived(stamp, at: self, now: now)
            case .failure(let reason):
                fail("NATS stream from the server is broken: \(reason)")
            }
        }
    }

    private func natsPong(_ meaning: NATSPong) {
        switch meaning {
        case .ready:
            isWelcomed = true
            run.sessionReady(self)
        case .subscribed(let sid):
            subscriptionID = sid
            subscribedRequest = sid
            run.subscribed(self)
        case .acknowledged(let sequence):
            if sequence > lastAcknowledged { lastAcknowledged = sequence }
        }
    }
}
