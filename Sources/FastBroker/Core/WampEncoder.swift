// Encodes the messages the broker sends, as `wamp.2.json`, `wamp.2.msgpack` or `wamp.2.cbor`. The
// per-event messages (EVENT, SUBSCRIBED/PUBLISHED, UNSUBSCRIBED) are written directly for JSON and
// for the binary formats (one generic writer over BinaryValueWriter);
// the rare ones (WELCOME, ABORT, GOODBYE, CHALLENGE, ERROR) are built as a JSONValue and written
// by the format's writer. EVENT copies the publication's args/kwargs verbatim when the formats
// match, or the payload transcoded once per publication (Router.payload, RemotePublication).
// Every EVENT — to a subscription's subscribers (Router) or to a consumer-group member
// (Session+Groups) — is made by `event(…, pool:)`, written straight into the pooled buffer in
// every format; only its details (topic, publisher, retained), when it has any, go through the
// pool's byte-array scratch. The plain EVENT (no details) of a subscription with one subscriber
// is written by the same `writePlainEvent` straight into that subscriber's outbound queue.

import BrokerSerialization

struct SessionIdentity {
    var authid: String
    var authrole: String
    var authmethod: String
    var authprovider: String
}

enum FastBrokerVersion {
    static let string = "0.1.0"
}

enum WampEncoder {
    static let agent = "fastbroker-\(FastBrokerVersion.string)"

    /// The advanced broker features this broker implements (announced in WELCOME).
    static let brokerFeatures = [
        "pattern_based_subscription", "publisher_exclusion", "publisher_identification",
        "subscriber_blackwhite_listing", "session_meta_api", "subscription_meta_api", "event_retention",
    ]

    // MARK: - Rare messages, through JSONValue

    static func welcome(session: UInt64, identity: SessionIdentity, format: WireFormat, into out: inout [UInt8]) {
        let features = JSONValue.object(brokerFeatures.map { (key: $0, value: .bool(true)) })
        let details = JSONValue.object([
            ("authid", .string(identity.authid)), ("authrole", .string(identity.authrole)),
            ("authmethod", .string(identity.authmethod)), ("authprovider", .string(identity.authprovider)),
            ("agent", .string(agent)),
            ("roles", .object([("broker", .object([("features", features)]))])),
        ])
        write(.array([.number(JSONNumber(UInt64(2))), .number(JSONNumber(session)), details]), format, &out)
    }

    static func abort(message: String, reason: String, format: WireFormat, into out: inout [UInt8]) {
        write(.array([.number(JSONNumber(UInt64(3))), .object([("message", .string(message))]), .string(reason)]), format, &out)
    }

    static func goodbye(message: String?, reason: String, format: WireFormat, into out: inout [UInt8]) {
        let details = JSONValue.object(message.map { [("message", .string($0))] } ?? [])
        write(.array([.number(JSONNumber(UInt64(6))), details, .string(reason)]), format, &out)
    }

    /// `[4, AuthMethod, Extra]`.
    static func challenge(method: String, extra: JSONValue, format: WireFormat, into out: inout [UInt8]) {
        write(.array([.number(JSONNumber(UInt64(4))), .string(method), extra]), format, &out)
    }

    /// `[8, type, request, {"message": m}, uri, [m]]`: the message also goes in Arguments, where
    /// Autobahn and most clients surface it (ApplicationError.args), as Crossbar does.
    static func error(requestType: UInt64, request: UInt64, message: String, uri: String, format: WireFormat, into out: inout [UInt8]) {
        write(.array([.number(JSONNumber(UInt64(8))), .number(JSONNumber(requestType)), .number(JSONNumber(request)),
                      .object([("message", .string(message))]), .string(uri), .array([.string(message)])]), format, &out)
    }

    /// `value` in `format`, by the format's generic writer.
    static func write(_ value: JSONValue, _ format: WireFormat, _ out: inout [UInt8]) {
        switch format {
        case .json: JSONWriter.appendValue(value, to: &out)
        case .msgpack: MessagePackWriter.appendValue(value, to: &out)
        case .cbor: CBORWriter.appendValue(value, to: &out)
        }
    }

    // MARK: - Per-event messages, written directly

    /// `[code, request, id]` — SUBSCRIBED and PUBLISHED.
    static func acknowledgement(code: UInt64, request: UInt64, id: UInt64, format: WireFormat, into out: inout [UInt8]) {
        switch format {
        case .json:
            out.append(UInt8(ascii: "["))
            JSONWriter.appendUInt(code, to: &out)
            out.append(UInt8(ascii: ","))
            JSONWriter.appendUInt(request, to: &out)
            out.append(UInt8(ascii: ","))
            JSONWriter.appendUInt(id, to: &out)
            out.append(UInt8(ascii: "]"))
        case .msgpack: binaryAcknowledgement(MessagePackWriter.self, code: code, request: request, id: id, into: &out)
        case .cbor: binaryAcknowledgement(CBORWriter.self, code: code, request: request, id: id, into: &out)
        }
    }

    private static func binaryAcknowledgement<W: BinaryValueWriter>(_: W.Type, code: UInt64, request: UInt64, id: UInt64,
                                                                     into out: inout [UInt8]) {
        W.appendArrayHeader(count: 3, to: &out)
        W.appendUInt(code, to: &out)
        W.appendUInt(request, to: &out)
        W.appendUInt(id, to: &out)
    }

    static func unsubscribed(request: UInt64, format: WireFormat, into out: inout [UInt8]) {
        switch format {
        case .json:
            out.append(contentsOf: "[35,".utf8)
            JSONWriter.appendUInt(request, to: &out)
            out.append(UInt8(ascii: "]"))
        case .msgpack, .cbor:
            let writer: any BinaryValueWriter.Type = format == .cbor ? CBORWriter.self : MessagePackWriter.self
            writer.appendArrayHeader(count: 2, to: &out)
            writer.appendUInt(35, to: &out)
            writer.appendUInt(request, to: &out)
        }
    }

    /// The EVENT in a buffer from the loop's pool, sized for the publication: the one way the
    /// broker makes an EVENT. The caller queues it, then recycles it if nobody took it.
    /// `retained`: a retained event sent after SUBSCRIBE (`"retained": true` in its details).
    static func event(subscription: UInt64, publication: Publication, payload: Payload, includeTopic: Bool,
                      format: WireFormat, pool: MessageBufferPool, retained: Bool = false) -> MessageBuffer {
        event(subscription: DecimalID(subscription), publication: publication, payload: payload, includeTopic: includeTopic,
              format: format, pool: pool, retained: retained)
    }

    /// The same, with the subscription id's digits made once (a subscription keeps its own).
    /// `[36, subscription, publication, details, args?, kwargs?]`, `payload` already in `format`.
    /// The head and the payload are written straight into the buffer; only details, when there
    /// are any (topic, publisher, retained), go through the pool's byte-array scratch.
    static func event(subscription: DecimalID, publication: Publication, payload: Payload, includeTopic: Bool,
                      format: WireFormat, pool: MessageBufferPool, retained: Bool = false) -> MessageBuffer {
        let buffer = pool.take(capacity: 96 + publication.topic.count + payload.args.count + payload.kwargs.count)
        switch format {
        case .json:
            jsonEvent(subscription: subscription, publication: publication, payload: payload, includeTopic: includeTopic,
                      retained: retained, into: buffer)
        case .msgpack:
            binaryEvent(MessagePackWriter.self, subscription: subscription.value, publication: publication, payload: payload,
                        includeTopic: includeTopic, retained: retained, into: buffer)
        case .cbor:
            binaryEvent(CBORWriter.self, subscription: subscription.value, publication: publication, payload: payload,
                        includeTopic: includeTopic, retained: retained, into: buffer)
        }
        return buffer
    }

    // MARK: The plain EVENT, written in place

    /// The most bytes the plain EVENT (`[36, s, p, {}, args?, kwargs?]`: no topic, publisher or
    /// retained detail) takes in `format`: the room `writePlainEvent` needs.
    @inline(__always)
    static func plainEventMaxBytes(_ payload: Payload, format: WireFormat) -> Int {
        payload.args.count + payload.kwargs.count + (format == .json ? jsonEventHeadBytes + 6 : binaryEventHeadBytes + 1)
    }

    /// Writes the plain EVENT in `format` at `base`, which has room for `plainEventMaxBytes`;
    /// returns its length. The one writer of it: into a pooled buffer (`event`) and straight into
    /// a subscriber's outbound queue (Connection.enqueuePlainEvent) alike.
    @inline(__always)
    static func writePlainEvent(subscription: DecimalID, publication: UInt64, payload: Payload, format: WireFormat,
                                to base: UnsafeMutableRawPointer) -> Int {
        switch format {
        case .json:
            let k = writeJSONEventHead(subscription: subscription, publication: publication, to: base)
            base.storeBytes(of: UInt8(ascii: "}"), toByteOffset: k, as: UInt8.self)
            return writeJSONEventTail(payload, to: base, at: k + 1)
        case .msgpack:
            return writeBinaryPlainEvent(MessagePackWriter.self, subscription: subscription.value, publication: publication,
                                         payload: payload, to: base)
        case .cbor:
            return writeBinaryPlainEvent(CBORWriter.self, subscription: subscription.value, publication: publication,
                                         payload: payload, to: base)
        }
    }

    @inline(__always)
    private static func writeBinaryPlainEvent<W: BinaryValueWriter>(_: W.Type, subscription: UInt64, publication: UInt64, payload: Payload,
                                                                    to base: UnsafeMutableRawPointer) -> Int {
        let k = writeBinaryEventHead(W.self, subscription: subscription, publication: publication, payload: payload, detailCount: 0, to: base)
        return writeBinaryEventTail(W.self, payload, to: base, at: k)
    }

    // MARK: JSON EVENT

    @inline(__always)
    private static func jsonEvent(subscription: DecimalID, publication: Publication, payload: Payload, includeTopic: Bool,
                                  retained: Bool, into buffer: MessageBuffer) {
        let publisher = publication.disclosedPublisher
        let payloadRoom = payload.args.count + payload.kwargs.count + 5
        guard includeTopic || publisher != nil || retained else {
            // The common EVENT, `[36,s,p,{},args,kwargs]`, in one piece.
            buffer.appendInPlace(maxBytes: plainEventMaxBytes(payload, format: .json)) { base in
                writePlainEvent(subscription: subscription, publication: publication.id, payload: payload, format: .json, to: base)
            }
            return
        }
        buffer.appendInPlace(maxBytes: jsonEventHeadBytes) { base in
            writeJSONEventHead(subscription: subscription, publication: publication.id, to: base)
        }
        buffer.encode { out in
            if includeTopic {
                out.append(contentsOf: "\"topic\":".utf8)
                JSONWriter.appendString(publication.topic, to: &out)   // UTF-8 bytes, escaped as needed
            }
            if let publisher {
                if includeTopic { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: "\"publisher\":".utf8)
                JSONWriter.appendUInt(publisher.session, to: &out)
                out.append(contentsOf: ",\"publisher_authid\":".utf8)
                JSONWriter.appendString(publisher.authid, to: &out)
                out.append(contentsOf: ",\"publisher_authrole\":".utf8)
                JSONWriter.appendString(publisher.authrole, to: &out)
            }
            if retained {
                if includeTopic || publisher != nil { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: "\"retained\":true".utf8)
            }
            out.append(UInt8(ascii: "}"))
        }
        buffer.appendInPlace(maxBytes: payloadRoom) { writeJSONEventTail(payload, to: $0, at: 0) }
    }

    /// Room for the longest head: `[36,` + 24 (DecimalID writes whole words) + `,` + 20 + `,{`.
    private static let jsonEventHeadBytes = 64

    /// Writes `[36,subscription,publication,{` at `base`, which has room for
    /// `jsonEventHeadBytes`; returns its length.
    @inline(__always)
    private static func writeJSONEventHead(subscription: DecimalID, publication: UInt64, to base: UnsafeMutableRawPointer) -> Int {
        var k = 0
        for c in "[36,".utf8 { base.storeBytes(of: c, toByteOffset: k, as: UInt8.self); k += 1 }
        k = subscription.write(to: base, at: k)
        base.storeBytes(of: UInt8(ascii: ","), toByteOffset: k, as: UInt8.self)
        k = JSONWriter.writeDecimal(publication, to: base, at: k + 1)
        base.storeBytes(of: UInt8(ascii: ","), toByteOffset: k, as: UInt8.self)
        base.storeBytes(of: UInt8(ascii: "{"), toByteOffset: k + 1, as: UInt8.self)
        return k + 2
    }

    /// After the details: `,args` (`,[]` when only kwargs), `,kwargs`, then `]`, at `offset` of
    /// `base`, which has room for the payload plus 5; returns the offset after it.
    @inline(__always)
    private static func writeJSONEventTail(_ payload: Payload, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        var k = offset
        if payload.args.count > 0 || payload.kwargs.count > 0 {
            base.storeBytes(of: UInt8(ascii: ","), toByteOffset: k, as: UInt8.self)
            if payload.args.count > 0 {
                k = write(payload.args, to: base, at: k + 1)
            } else {
                base.storeBytes(of: UInt8(ascii: "["), toByteOffset: k + 1, as: UInt8.self)
                base.storeBytes(of: UInt8(ascii: "]"), toByteOffset: k + 2, as: UInt8.self)
                k += 3
            }
            if payload.kwargs.count > 0 {
                base.storeBytes(of: UInt8(ascii: ","), toByteOffset: k, as: UInt8.self)
                k = write(payload.kwargs, to: base, at: k + 1)
            }
        }
        base.storeBytes(of: UInt8(ascii: "]"), toByteOffset: k, as: UInt8.self)
        return k + 1
    }

    @inline(__always)
    private static func write(_ bytes: UnsafeRawBufferPointer, to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        (base + offset).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        return offset + bytes.count
    }

    // MARK: MessagePack and CBOR EVENT

    @inline(__always)
    private static func binaryEvent<W: BinaryValueWriter>(_: W.Type, subscription: UInt64, publication: Publication, payload: Payload,
                                                           includeTopic: Bool, retained: Bool, into buffer: MessageBuffer) {
        let publisher = publication.disclosedPublisher
        let detailCount = (includeTopic ? 1 : 0) + (publisher != nil ? 3 : 0) + (retained ? 1 : 0)
        let payloadRoom = payload.args.count + payload.kwargs.count + 1
        guard detailCount > 0 else {
            // The common EVENT, `[36, s, p, {}, args?, kwargs?]`, in one piece.
            buffer.appendInPlace(maxBytes: binaryEventHeadBytes + payloadRoom) { base in
                writeBinaryPlainEvent(W.self, subscription: subscription, publication: publication.id, payload: payload, to: base)
            }
            return
        }
        buffer.appendInPlace(maxBytes: binaryEventHeadBytes) { base in
            writeBinaryEventHead(W.self, subscription: subscription, publication: publication.id, payload: payload,
                                 detailCount: detailCount, to: base)
        }
        buffer.encode { out in
            if includeTopic {
                W.appendString("topic", to: &out)
                W.appendString(publication.topic, to: &out)
            }
            if let publisher {
                W.appendString("publisher", to: &out)
                W.appendUInt(publisher.session, to: &out)
                W.appendString("publisher_authid", to: &out)
                W.appendString(publisher.authid, to: &out)
                W.appendString("publisher_authrole", to: &out)
                W.appendString(publisher.authrole, to: &out)
            }
            if retained {
                W.appendString("retained", to: &out)
                W.appendBool(true, to: &out)
            }
        }
        buffer.appendInPlace(maxBytes: payloadRoom) { writeBinaryEventTail(W.self, payload, to: $0, at: 0) }
    }

    /// Room for the longest binary head: array head (1) + 36 (2 in CBOR) + two ids (9 each) +
    /// map head (1: at most 5 details).
    private static let binaryEventHeadBytes = 22

    /// Writes the array head (4 to 6 elements, as the payload needs), 36, the two ids and the
    /// head of a details map of `detailCount` entries at `base`, which has room for
    /// `binaryEventHeadBytes`; returns its length.
    @inline(__always)
    private static func writeBinaryEventHead<W: BinaryValueWriter>(_: W.Type, subscription: UInt64, publication: UInt64, payload: Payload,
                                                                   detailCount: Int, to base: UnsafeMutableRawPointer) -> Int {
        let elements = payload.kwargs.count > 0 ? 6 : payload.args.count > 0 ? 5 : 4
        var k = W.writeArrayHeader(count: elements, to: base, at: 0)
        k = W.writeUInt(36, to: base, at: k)
        k = W.writeUInt(subscription, to: base, at: k)
        k = W.writeUInt(publication, to: base, at: k)
        return W.writeMapHeader(count: detailCount, to: base, at: k)
    }

    /// After the details: args (an empty array when only kwargs) and kwargs, verbatim, at
    /// `offset` of `base`, which has room for the payload plus 1; returns the offset after them.
    @inline(__always)
    private static func writeBinaryEventTail<W: BinaryValueWriter>(_: W.Type, _ payload: Payload, to base: UnsafeMutableRawPointer,
                                                                   at offset: Int) -> Int {
        var k = offset
        if payload.args.count > 0 {
            k = write(payload.args, to: base, at: k)
        } else if payload.kwargs.count > 0 {
            k = W.writeArrayHeader(count: 0, to: base, at: k)
        }
        if payload.kwargs.count > 0 { k = write(payload.kwargs, to: base, at: k) }
        return k
    }
}

/// A WAMP id with its decimal digits written once: a subscription keeps its own, so each JSON
/// EVENT copies three words instead of converting the number again (~180 instructions).
struct DecimalID {
    let value: UInt64
    /// The digits, from the first byte; `count` of them (at most 20).
    private let digits: (UInt64, UInt64, UInt64)
    private let count: Int

    init(_ value: UInt64) {
        self.value = value
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        count = withUnsafeMutableBytes(of: &digits) { JSONWriter.writeDecimal(value, to: $0.baseAddress!, at: 0) }
        self.digits = digits
    }

    /// Writes the digits at `offset` of `base`, which has room for 24 bytes there (all three
    /// words are stored); returns the offset after the digits.
    @inline(__always)
    func write(to base: UnsafeMutableRawPointer, at offset: Int) -> Int {
        base.storeBytes(of: digits.0, toByteOffset: offset, as: UInt64.self)
        base.storeBytes(of: digits.1, toByteOffset: offset + 8, as: UInt64.self)
        base.storeBytes(of: digits.2, toByteOffset: offset + 16, as: UInt64.self)
        return offset + count
    }
}
