// The set-up messages of a BenchConnection — HELLO (with WAMP-CRA when --authid is given), the
// AUTHENTICATE answering a CHALLENGE, SUBSCRIBE — written as JSON text and transcoded for
// MessagePack or CBOR (set-up only, so allocation does not matter here), or the NATS equivalents.

import BrokerSecurity
import BrokerSerialization

extension BenchConnection {
    /// HELLO to --realm; with --authid, offering WAMP-CRA (set-up messages are built as JSON text
    /// and transcoded for MessagePack or CBOR).
    func sendHello() {
        var details = #"{"roles":{"subscriber":{},"publisher":{}}"#
        if let authid = url.authid {
            var quoted: [UInt8] = []
            JSONWriter.appendValue(.string(authid), to: &quoted)
            details += #","authmethods":["wampcra"],"authid":"# + String(decoding: quoted, as: UTF8.self)
        }
        var realm: [UInt8] = []
        JSONWriter.appendValue(.string(url.realm), to: &realm)
        sendSetupMessage("[1," + String(decoding: realm, as: UTF8.self) + "," + details + "}]")
    }

    /// AUTHENTICATE for a wampcra CHALLENGE: HMAC-SHA256 of the challenge with the secret, or with
    /// the PBKDF2-derived key when the challenge carries a salt.
    func answerChallenge(_ view: WampMessageView) {
        guard view.string(1) == "wampcra", let extra = view.object(2), let challenge = extra.string(forKey: "challenge"),
              let secret = url.secret else {
            fail("unexpected CHALLENGE \(describe(view)) (give --authid and --secret for WAMP-CRA)")
            return
        }
        var key = Array(secret.utf8)
        if let salt = extra.string(forKey: "salt") {
            let iterations = Int(extra.unsignedInteger(forKey: "iterations") ?? 1000)
            let keyLength = Int(extra.unsignedInteger(forKey: "keylen") ?? 32)
            key = Array(WampCRA.deriveKey(password: secret, salt: salt, iterations: iterations, keyLength: keyLength).utf8)
        }
        var signature: [UInt8] = []
        JSONWriter.appendValue(.string(WampCRA.signature(key: key, challenge: challenge)), to: &signature)
        sendSetupMessage("[5," + String(decoding: signature, as: UTF8.self) + ",{}]")
    }

    /// A set-up message given as JSON text, sent in the connection's serializer (and flushed, unless
    /// the caller flushes many at once).
    private func sendSetupMessage(_ json: String, flushNow: Bool = true) {
        switch url.serializer {
        case .json:
            sendMessage { $0.append(json) }
        case .msgpack, .cbor:
            guard case .success(let value) = JSONScanner.parse(Array(json.utf8)) else {
                fail("set-up message is not JSON: \(json)")
                return
            }
            var bytes: [UInt8] = []
            url.serializer.binaryWriter.appendValue(value, to: &bytes)
            sendMessage { writer in bytes.withUnsafeBytes { writer.append($0) } }
        }
        if flushNow { flush() }
    }

    /// SUBSCRIBE with the given request id and options (JSON object text; transcoded for
    /// MessagePack or CBOR). `flushNow: false` leaves it to the run's next flush (many subscriptions at once).
    func sendSubscribe(topic: String, options: String, request: UInt64 = 1, flushNow: Bool = true) {
        if url.transport == .nats {
            natsSubscribe(subject: topic, options: options, sid: request, flushNow: flushNow)
            return
        }
        var uri: [UInt8] = []
        JSONWriter.appendValue(.string(topic), to: &uri)
        sendSetupMessage("[32,\(request)," + options + "," + String(decoding: uri, as: UTF8.self) + "]", flushNow: flushNow)
    }
}
