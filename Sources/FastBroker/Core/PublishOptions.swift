// PUBLISH options read in one pass over the options dict (JSON or MessagePack): the flags every
// publish needs, plus the black/whitelists when present. Runs per PUBLISH, so the common case —
// `{}` or `{"acknowledge": true}` — touches each key once and allocates nothing.

import BrokerSerialization

struct PublishOptions {
    var acknowledge = false
    var excludeMe = true
    var discloseMe = false
    /// Set when any exclude/eligible list is present; nil lists were absent.
    var rules: EligibilityRules? = nil

    /// What was wrong with an option, for the ERROR (or a silent refusal without acknowledge).
    struct Invalid: Error { var message: String }

    static func parse(_ options: JSONObjectView) -> Result<PublishOptions, Invalid> {
        var parsed = PublishOptions()
        let buffer = options.buffer
        for (key, value) in options {
            func flag(_ name: StaticString) -> Bool? {
                switch value.kind {
                case .true: return true
                case .false: return false
                default: return nil
                }
            }
            if JSONScanner.stringEquals(buffer, key, "acknowledge") {
                guard let v = flag("acknowledge") else { return .failure(Invalid(message: "options.acknowledge must be a bool")) }
                parsed.acknowledge = v
            } else if JSONScanner.stringEquals(buffer, key, "exclude_me") {
                guard let v = flag("exclude_me") else { return .failure(Invalid(message: "options.exclude_me must be a bool")) }
                parsed.excludeMe = v
            } else if JSONScanner.stringEquals(buffer, key, "disclose_me") {
                guard let v = flag("disclose_me") else { return .failure(Invalid(message: "options.disclose_me must be a bool")) }
                parsed.discloseMe = v
            } else if isEligibilityKey(buffer, key) {
                // Rare: decode the lists (allocating) once any of them is present.
                switch eligibilityRules(options) {
                case .success(let rules): parsed.rules = rules
                case .failure(let invalid): return .failure(invalid)
                }
            }
            // Unknown options are ignored, as the WAMP spec requires.
        }
        return .success(parsed)
    }

    private static func isEligibilityKey(_ buffer: UnsafeRawBufferPointer, _ key: JSONSpan) -> Bool {
        JSONScanner.stringEquals(buffer, key, "exclude") || JSONScanner.stringEquals(buffer, key, "eligible")
            || JSONScanner.stringEquals(buffer, key, "exclude_authid") || JSONScanner.stringEquals(buffer, key, "eligible_authid")
            || JSONScanner.stringEquals(buffer, key, "exclude_authrole") || JSONScanner.stringEquals(buffer, key, "eligible_authrole")
    }

    private static func eligibilityRules(_ options: JSONObjectView) -> Result<EligibilityRules, Invalid> {
        func ids(_ key: StaticString) throws(Invalid) -> [UInt64]? {
            guard options.value(forKey: key) != nil else { return nil }
            guard let list = options.unsignedIntegerArray(forKey: key) else {
                throw Invalid(message: "options.\(key) must be a list of session ids")
            }
            return list
        }
        func strings(_ key: StaticString) throws(Invalid) -> [String]? {
            guard options.value(forKey: key) != nil else { return nil }
            guard let list = options.stringArray(forKey: key) else { throw Invalid(message: "options.\(key) must be a list of strings") }
            return list
        }
        do throws(Invalid) {
            return .success(EligibilityRules(
                exclude: try ids("exclude") ?? [], eligible: try ids("eligible"),
                excludeAuthid: try strings("exclude_authid") ?? [], eligibleAuthid: try strings("eligible_authid"),
                excludeAuthrole: try strings("exclude_authrole") ?? [], eligibleAuthrole: try strings("eligible_authrole")))
        } catch {
            return .failure(error)
        }
    }
}
