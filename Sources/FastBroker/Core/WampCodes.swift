// WAMP message type codes and the URIs the broker sends (WAMP-NOTES.md §2, §6).

enum WampCode {
    static let hello: UInt64 = 1
    static let welcome: UInt64 = 2
    static let abort: UInt64 = 3
    static let challenge: UInt64 = 4
    static let authenticate: UInt64 = 5
    static let goodbye: UInt64 = 6
    static let error: UInt64 = 8
    static let publish: UInt64 = 16
    static let published: UInt64 = 17
    static let subscribe: UInt64 = 32
    static let subscribed: UInt64 = 33
    static let unsubscribe: UInt64 = 34
    static let unsubscribed: UInt64 = 35
    static let event: UInt64 = 36

    /// Name for error messages ("SUBSCRIBE before WELCOME").
    static func name(_ code: UInt64) -> String {
        switch code {
        case 1: "HELLO"; case 2: "WELCOME"; case 3: "ABORT"; case 4: "CHALLENGE"; case 5: "AUTHENTICATE"
        case 6: "GOODBYE"; case 8: "ERROR"; case 16: "PUBLISH"; case 17: "PUBLISHED"; case 32: "SUBSCRIBE"
        case 33: "SUBSCRIBED"; case 34: "UNSUBSCRIBE"; case 35: "UNSUBSCRIBED"; case 36: "EVENT"
        case 48: "CALL"; case 49: "CANCEL"; case 50: "RESULT"; case 64: "REGISTER"; case 65: "REGISTERED"
        case 66: "UNREGISTER"; case 67: "UNREGISTERED"; case 68: "INVOCATION"; case 69: "INTERRUPT"; case 70: "YIELD"
        default: "message type \(code)"
        }
    }
}

enum WampURI {
    static let protocolViolation = "wamp.error.protocol_violation"
    static let noSuchRealm = "wamp.error.no_such_realm"
    static let notAuthorized = "wamp.error.not_authorized"
    static let invalidURI = "wamp.error.invalid_uri"
    static let invalidArgument = "wamp.error.invalid_argument"
    static let noSuchSubscription = "wamp.error.no_such_subscription"
    static let goodbyeAndOut = "wamp.close.goodbye_and_out"
    static let systemShutdown = "wamp.close.system_shutdown"
    static let slowConsumer = "fastbroker.error.slow_consumer"
    static let handshakeTimeout = "fastbroker.error.handshake_timeout"
    /// A SPEC §3 limit refused the request or ended the session; the message names the limit.
    static let limitExceeded = "fastbroker.error.limit_exceeded"
    static let exclusiveSubscriptionTaken = "fastbroker.error.exclusive_subscription_taken"
    static let subscriptionTypeMismatch = "fastbroker.error.subscription_type_mismatch"
}

/// The largest id WAMP allows: 2^53.
let maxWampID: UInt64 = 1 << 53
