// Client text that must compare as bytes: a String whose ==/hash use its UTF-8 bytes, not Swift's
// Unicode canonical equivalence. "caf\u{E9}" and "cafe\u{301}" are equal Strings but different
// group names (and different filter constants), and permissions and the index compare bytes, so
// keys built from client text use this (URIs use TopicKey). Immutable, so Sendable.

struct BytewiseString: Hashable, Sendable, CustomStringConvertible {
    let string: String

    init(_ string: String) { self.string = string }

    static func == (a: BytewiseString, b: BytewiseString) -> Bool {
        a.string.utf8.elementsEqual(b.string.utf8)
    }

    func hash(into hasher: inout Hasher) {
        var text = string
        text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    var description: String { string }
}

extension BytewiseString: ExpressibleByStringLiteral {
    init(stringLiteral value: String) { self.init(value) }
}
