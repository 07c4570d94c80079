// Client-supplied text (GOODBYE reasons, authids, URIs, messages quoting them) made safe to
// quote: in a log line, control characters are escaped so a client cannot forge or split log
// lines; in logs and in ABORT/ERROR messages, the length is capped so a client cannot make the
// broker write a megabyte per line or echo its own payload back at it.

enum LogText {
    /// Bytes of client text kept when quoting it; the rest is summarized as "…(N bytes)".
    static let maxQuotedBytes = 200

    /// `text` cut to at most `maxBytes` UTF-8 bytes (at a character boundary), followed by
    /// "…(N bytes)" naming the full length when anything was cut.
    static func capped(_ text: String, maxBytes: Int = maxQuotedBytes) -> String {
        render(text, maxBytes: maxBytes, escaping: false)
    }

    /// For a log line: every control character (C0, DEL, C1, and the Unicode line and paragraph
    /// separators) written as \n, \r, \t or \u{XX}, backslashes doubled so an escape cannot be
    /// faked, and the escaped text capped at `maxBytes` like `capped`.
    static func escaped(_ text: String, maxBytes: Int = maxQuotedBytes) -> String {
        render(text, maxBytes: maxBytes, escaping: true)
    }

    private static func render(_ text: String, maxBytes: Int, escaping: Bool) -> String {
        if text.utf8.count <= maxBytes && !(escaping && text.unicodeScalars.contains(where: needsEscape)) {
            return text   // the common case: nothing to change, no copy
        }
        var out = String.UnicodeScalarView()
        var kept = 0
        for scalar in text.unicodeScalars {
            let piece = escaping && needsEscape(scalar) ? escape(scalar) : String(scalar)
            let size = piece.utf8.count
            if kept + size > maxBytes {
                return String(out) + "…(\(text.utf8.count) bytes)"
            }
            kept += size
            out.append(contentsOf: piece.unicodeScalars)
        }
        return String(out)
    }

    private static func escape(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n": return #"\n"#
        case "\r": return #"\r"#
        case "\t": return #"\t"#
        case "\\": return #"\\"#
        default: return "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
        }
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x5C, 0x7F...0x9F, 0x2028, 0x2029: return true
        default: return false
        }
    }
}
