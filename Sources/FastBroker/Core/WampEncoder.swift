// Encodes the messages the broker sends as `wamp.2.json` text. EVENT copies the publication's
// args/kwargs bytes verbatim: they were validated on arrival and are never re-encoded.

import BrokerSerialization

struct SessionIdentity {
    var authid: String
    var authrole: String
    var authmethod: String
    var authprovider: String
}

enum WampEncoder {
    static let agent = "fastbroker-\(FastBrokerVersion.string)"

    /// The advanced broker features this broker implements (announced in WELCOME).
    static let brokerFeatures = [
        "pattern_based_subscription", "publisher_exclusion", "publisher_identification",
        "subscriber_blackwhite_listing",
    ]

    static func welcome(session: UInt64, identity: SessionIdentity, into out: inout [UInt8]) {
        out.append(contentsOf: "[2,".utf8)
        JSONWriter.appendUInt(session, to: &out)
        out.append(contentsOf: ",{\"authid\":".utf8)
        JSONWriter.appendString(identity.authid, to: &out)
        out.append(contentsOf: ",\"authrole\":".utf8)
        JSONWriter.appendString(identity.authrole, to: &out)
        out.append(contentsOf: ",\"authmethod\":".utf8)
        JSONWriter.appendString(identity.authmethod, to: &out)
        out.append(contentsOf: ",\"authprovider\":".utf8)
        JSONWriter.appendString(identity.authprovider, to: &out)
        out.append(contentsOf: ",\"agent\":".utf8)
        JSONWriter.appendString(agent, to: &out)
        out.append(contentsOf: ",\"roles\":{\"broker\":{\"features\":{".utf8)
        for (i, feature) in brokerFeatures.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            JSONWriter.appendString(feature, to: &out)
            out.append(contentsOf: ":true".utf8)
        }
        out.append(contentsOf: "}}}}]".utf8)
    }

    static func abort(message: String, reason: String, into out: inout [UInt8]) {
        out.append(contentsOf: "[3,{\"message\":".utf8)
        JSONWriter.appendString(message, to: &out)
        out.append(contentsOf: "},".utf8)
        JSONWriter.appendString(reason, to: &out)
        out.append(UInt8(ascii: "]"))
    }

    static func goodbye(message: String?, reason: String, into out: inout [UInt8]) {
        out.append(contentsOf: "[6,{".utf8)
        if let message {
            out.append(contentsOf: "\"message\":".utf8)
            JSONWriter.appendString(message, to: &out)
        }
        out.append(contentsOf: "},".utf8)
        JSONWriter.appendString(reason, to: &out)
        out.append(UInt8(ascii: "]"))
    }

    static func challenge(_ c: ChallengeDetails, into out: inout [UInt8]) {
        out.append(contentsOf: "[4,\"wampcra\",{\"challenge\":".utf8)
        JSONWriter.appendString(c.challenge, to: &out)
        if let salt = c.salt, let keyLength = c.keyLength, let iterations = c.iterations {
            out.append(contentsOf: ",\"salt\":".utf8)
            JSONWriter.appendString(salt, to: &out)
            out.append(contentsOf: ",\"keylen\":".utf8)
            JSONWriter.appendUInt(UInt64(keyLength), to: &out)
            out.append(contentsOf: ",\"iterations\":".utf8)
            JSONWriter.appendUInt(UInt64(iterations), to: &out)
        }
        out.append(contentsOf: "}]".utf8)
    }

    /// `[8, type, request, {"message": m}, uri, [m]]`: the message also goes in Arguments, where
    /// Autobahn and most clients surface it (ApplicationError.args), as Crossbar does.
    static func error(requestType: UInt64, request: UInt64, message: String, uri: String, into out: inout [UInt8]) {
        out.append(contentsOf: "[8,".utf8)
        JSONWriter.appendUInt(requestType, to: &out)
        out.append(UInt8(ascii: ","))
        JSONWriter.appendUInt(request, to: &out)
        out.append(contentsOf: ",{\"message\":".utf8)
        JSONWriter.appendString(message, to: &out)
        out.append(contentsOf: "},".utf8)
        JSONWriter.appendString(uri, to: &out)
        out.append(contentsOf: ",[".utf8)
        JSONWriter.appendString(message, to: &out)
        out.append(contentsOf: "]]".utf8)
    }

    /// `[code, request, id]` — SUBSCRIBED and PUBLISHED.
    static func acknowledgement(code: UInt64, request: UInt64, id: UInt64, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        JSONWriter.appendUInt(code, to: &out)
        out.append(UInt8(ascii: ","))
        JSONWriter.appendUInt(request, to: &out)
        out.append(UInt8(ascii: ","))
        JSONWriter.appendUInt(id, to: &out)
        out.append(UInt8(ascii: "]"))
    }

    static func unsubscribed(request: UInt64, into out: inout [UInt8]) {
        out.append(contentsOf: "[35,".utf8)
        JSONWriter.appendUInt(request, to: &out)
        out.append(UInt8(ascii: "]"))
    }

    /// `[36, subscription, publication, details, args?, kwargs?]`; args/kwargs are the raw bytes
    /// that arrived with the PUBLISH.
    static func event(subscription: UInt64, publication: Publication, includeTopic: Bool, into out: inout [UInt8]) {
        out.append(contentsOf: "[36,".utf8)
        JSONWriter.appendUInt(subscription, to: &out)
        out.append(UInt8(ascii: ","))
        JSONWriter.appendUInt(publication.id, to: &out)
        out.append(UInt8(ascii: ","))
        out.append(UInt8(ascii: "{"))
        var first = true
        if includeTopic {
            out.append(contentsOf: "\"topic\":".utf8)
            JSONWriter.appendString(publication.topic, to: &out)   // UTF-8 bytes, escaped as needed
            first = false
        }
        if let publisher = publication.disclosedPublisher {
            if !first { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: "\"publisher\":".utf8)
            JSONWriter.appendUInt(publisher.session, to: &out)
            out.append(contentsOf: ",\"publisher_authid\":".utf8)
            JSONWriter.appendString(publisher.authid, to: &out)
            out.append(contentsOf: ",\"publisher_authrole\":".utf8)
            JSONWriter.appendString(publisher.authrole, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        if publication.args.count > 0 || publication.kwargs.count > 0 {
            out.append(UInt8(ascii: ","))
            if publication.args.count > 0 {
                JSONWriter.appendRaw(publication.args, to: &out)
            } else {
                out.append(contentsOf: "[]".utf8)
            }
            if publication.kwargs.count > 0 {
                out.append(UInt8(ascii: ","))
                JSONWriter.appendRaw(publication.kwargs, to: &out)
            }
        }
        out.append(UInt8(ascii: "]"))
    }
}

struct ChallengeDetails {
    var challenge: String
    var salt: String?
    var keyLength: Int?
    var iterations: Int?
}

enum FastBrokerVersion {
    static let string = "0.1.0"
}
