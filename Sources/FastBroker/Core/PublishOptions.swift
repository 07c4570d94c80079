// PUBLISH options read in one pass over the options dict (JSON or MessagePack): the flags every
// publish needs, plus the black/whitelists when present. Runs per PUBLISH, so the common case —
// `{}` or `{"acknowledge": true}` — touches each key once and allocates nothing.
//
// The pass only remembers where each known option's value is; the lists are decoded afterwards,
// each at most once. So the work is linear in the options' size whatever their shape: 4,000
// repeated "exclude" keys used to cost 4,000 rescans of the whole dict. A repeated key: the last
// one wins (the rule of every message view, JSONObjectView), earlier values are not read. A list
// longer than `limits.max_list_option_entries` is refused before the rest of it is decoded.

import BrokerSerialization

struct PublishOptions {
    var acknowledge = false
    var excludeMe = true
    var discloseMe = false
    /// Keep this publication as the topic's retained event (SPEC §5, RetainedEvents).
    var retain = false
    /// Set when some exclude/eligible list restricts anyone (empty exclude lists do not).
    var rules: EligibilityRules? = nil

    /// Why the options were refused: the ERROR's message and URI (sent only when the publisher
    /// asked for an acknowledgement), and the limit exceeded, if that was the reason.
    struct Refusal: Error {
        var message: String
        var uri: String
        var limit: RefusedLimit?
        /// The publisher's `acknowledge` option (false when it was itself the malformed one).
        var acknowledge = false

        static func invalid(_ message: String) -> Refusal {
            Refusal(message: message, uri: WampURI.invalidArgument, limit: nil)
        }
    }

    /// The six black/whitelist options.
    enum ListOption {
        case exclude, eligible, excludeAuthid, eligibleAuthid, excludeAuthrole, eligibleAuthrole

        /// The option a key names, compared in place (no allocation: runs per options member).
        init?(key: JSONSpan, in buffer: UnsafeRawBufferPointer) {
            if JSONScanner.stringEquals(buffer, key, "exclude") { self = .exclude }
            else if JSONScanner.stringEquals(buffer, key, "eligible") { self = .eligible }
            else if JSONScanner.stringEquals(buffer, key, "exclude_authid") { self = .excludeAuthid }
            else if JSONScanner.stringEquals(buffer, key, "eligible_authid") { self = .eligibleAuthid }
            else if JSONScanner.stringEquals(buffer, key, "exclude_authrole") { self = .excludeAuthrole }
            else if JSONScanner.stringEquals(buffer, key, "eligible_authrole") { self = .eligibleAuthrole }
            else { return nil }
        }

        var name: StaticString {
            switch self {
            case .exclude: "exclude"
            case .eligible: "eligible"
            case .excludeAuthid: "exclude_authid"
            case .eligibleAuthid: "eligible_authid"
            case .excludeAuthrole: "exclude_authrole"
            case .eligibleAuthrole: "eligible_authrole"
            }
        }
    }

    @inline(__always)   // per PUBLISH: the `{}` case then costs a compare, not a Result built and copied
    static func parse(_ options: JSONObjectView, maxListEntries: Int) -> Result<PublishOptions, Refusal> {
        // `{}` (one byte, an empty map, in the binary formats): nothing to walk.
        if options.span.count == (options.format == .json ? 2 : 1) { return .success(PublishOptions()) }
        return parse(members: options, buffer: options.buffer, maxListEntries: maxListEntries)
    }

    /// `members` are the options dict's members in order (the view itself; tests pass a wrapper
    /// that counts how many members were visited).
    static func parse<Members: Sequence>(members: Members, buffer: UnsafeRawBufferPointer, maxListEntries: Int)
        -> Result<PublishOptions, Refusal> where Members.Element == (key: JSONSpan, value: JSONSpan)
    {
        var acknowledgeSpan: JSONSpan?, excludeMeSpan: JSONSpan?, discloseMeSpan: JSONSpan?, retainSpan: JSONSpan?
        var lists = ListSpans()
        for (key, value) in members {
            if JSONScanner.stringEquals(buffer, key, "acknowledge") {
                acknowledgeSpan = value
            } else if JSONScanner.stringEquals(buffer, key, "exclude_me") {
                excludeMeSpan = value
            } else if JSONScanner.stringEquals(buffer, key, "disclose_me") {
                discloseMeSpan = value
            } else if JSONScanner.stringEquals(buffer, key, "retain") {
                retainSpan = value
            } else if let option = ListOption(key: key, in: buffer) {
                lists[option] = value
                lists.anyPresent = true
            }
            // Unknown options are ignored, as the WAMP spec requires.
        }

        var parsed = PublishOptions()
        // acknowledge first: every later refusal is answered only if it was asked for.
        if let span = acknowledgeSpan {
            guard let value = flag(span) else { return .failure(.invalid("options.acknowledge must be a bool")) }
            parsed.acknowledge = value
        }
        do throws(Refusal) {
            try readRest(into: &parsed, excludeMeSpan, discloseMeSpan, retainSpan, lists, buffer, maxListEntries)
        } catch {
            var refusal = error
            refusal.acknowledge = parsed.acknowledge
            return .failure(refusal)
        }
        return .success(parsed)
    }

    /// Everything but `acknowledge`, from the spans the pass found.
    private static func readRest(into parsed: inout PublishOptions, _ excludeMeSpan: JSONSpan?, _ discloseMeSpan: JSONSpan?,
                                 _ retainSpan: JSONSpan?, _ spans: ListSpans, _ buffer: UnsafeRawBufferPointer, _ maxListEntries: Int) throws(Refusal) {
        if let span = excludeMeSpan {
            guard let value = flag(span) else { throw .invalid("options.exclude_me must be a bool") }
            parsed.excludeMe = value
        }
        if let span = discloseMeSpan {
            guard let value = flag(span) else { throw .invalid("options.disclose_me must be a bool") }
            parsed.discloseMe = value
        }
        if let span = retainSpan {
            guard let value = flag(span) else { throw .invalid("options.retain must be a bool") }
            parsed.retain = value
        }
        guard spans.anyPresent else { return }  // the common case: no allocation
        let lists = ListDecoder(buffer: buffer, spans: spans, maxEntries: maxListEntries)
        var rules = EligibilityRules()
        rules.exclude = try lists.sessionIDs(.exclude) ?? SortedSessionIDs()
        rules.eligible = try lists.sessionIDs(.eligible)
        rules.excludeAuthid = try lists.strings(.excludeAuthid) ?? SortedByteStrings()
        rules.eligibleAuthid = try lists.strings(.eligibleAuthid)
        rules.excludeAuthrole = try lists.strings(.excludeAuthrole) ?? SortedByteStrings()
        rules.eligibleAuthrole = try lists.strings(.eligibleAuthrole)
        parsed.rules = rules.restrictsAnyone ? rules : nil
    }

    private static func flag(_ span: JSONSpan) -> Bool? {
        switch span.kind {
        case .true: true
        case .false: false
        default: nil
        }
    }

    /// The last value span of each list option present.
    private struct ListSpans {
        var exclude, eligible, excludeAuthid, eligibleAuthid, excludeAuthrole, eligibleAuthrole: JSONSpan?
        var anyPresent = false

        subscript(option: ListOption) -> JSONSpan? {
            get {
                switch option {
                case .exclude: exclude
                case .eligible: eligible
                case .excludeAuthid: excludeAuthid
                case .eligibleAuthid: eligibleAuthid
                case .excludeAuthrole: excludeAuthrole
                case .eligibleAuthrole: eligibleAuthrole
                }
            }
            set {
                switch option {
                case .exclude: exclude = newValue
                case .eligible: eligible = newValue
                case .excludeAuthid: excludeAuthid = newValue
                case .eligibleAuthid: eligibleAuthid = newValue
                case .excludeAuthrole: excludeAuthrole = newValue
                case .eligibleAuthrole: eligibleAuthrole = newValue
                }
            }
        }
    }

    /// Decodes one list option into its sorted form; nil when the option was absent.
    private struct ListDecoder {
        let buffer: UnsafeRawBufferPointer
        let spans: ListSpans
        let maxEntries: Int

        func sessionIDs(_ option: ListOption) throws(Refusal) -> SortedSessionIDs? {
            guard let span = spans[option] else { return nil }
            guard span.kind == .array else { throw .invalid("options.\(option.name) must be a list of session ids") }
            var ids: [UInt64] = []
            for element in JSONArrayView(buffer: buffer, span: span) {
                guard ids.count < maxEntries else { throw tooLong(option) }
                guard let id = JSONScanner.unsignedInteger(buffer, element) else {
                    throw .invalid("options.\(option.name) must be a list of session ids")
                }
                ids.append(id)
            }
            return SortedSessionIDs(ids)
        }

        func strings(_ option: ListOption) throws(Refusal) -> SortedByteStrings? {
            guard let span = spans[option] else { return nil }
            guard span.kind == .array else { throw .invalid("options.\(option.name) must be a list of strings") }
            var builder = SortedByteStrings.Builder()
            for element in JSONArrayView(buffer: buffer, span: span) {
                guard builder.count < maxEntries else { throw tooLong(option) }
                guard element.kind == .string else { throw .invalid("options.\(option.name) must be a list of strings") }
                if let raw = JSONScanner.rawStringContent(buffer, element) {
                    builder.append(raw)
                } else {
                    var decoded = JSONScanner.decodeString(buffer, element)
                    decoded.withUTF8 { builder.append(UnsafeRawBufferPointer($0)) }
                }
            }
            return builder.sorted()
        }

        private func tooLong(_ option: ListOption) -> Refusal {
            Refusal(message: "options.\(option.name) has more than \(maxEntries) entries (limits.max_list_option_entries)",
                    uri: WampURI.limitExceeded, limit: .maxListOptionEntries)
        }
    }
}
