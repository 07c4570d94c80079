// VM+Semantics: what the comparison opcodes mean, per SPEC §5.1 (DynamoDB semantics): values of
// different types, missing values and non-N numbers are never equal or ordered; N compares as an
// exact decimal, S by UTF-8 bytes; L and M compare deeply for equality only. Strings are read
// through iterators (document strings decode escapes on the fly), so nothing is copied.

/// The UTF-8 bytes of a constant string in the program's byte pool.
struct ConstantBytes: IteratorProtocol {
    let base: UnsafeRawBufferPointer
    var index: Int
    let end: Int

    @inline(__always) mutating func next() -> UInt8? {
        guard index < end else { return nil }
        defer { index += 1 }
        return base[index]
    }
}

enum StringOp {
    case compare  // -1, 0, +1
    case hasPrefix  // 1 when a starts with b
    case containsSubstring  // 1 when b occurs in a
}

enum StringAlgorithms {
    @inline(__always)
    static func run<A: IteratorProtocol, B: IteratorProtocol>(_ op: StringOp, _ a: A, _ b: B) -> Int
    where A.Element == UInt8, B.Element == UInt8 {
        switch op {
        case .compare: return compare(a, b)
        case .hasPrefix: return hasPrefix(a, b) ? 1 : 0
        case .containsSubstring: return containsSubstring(a, b) ? 1 : 0
        }
    }

    static func compare<A: IteratorProtocol, B: IteratorProtocol>(_ a: A, _ b: B) -> Int
    where A.Element == UInt8, B.Element == UInt8 {
        var a = a
        var b = b
        while true {
            switch (a.next(), b.next()) {
            case (nil, nil): return 0
            case (nil, _): return -1
            case (_, nil): return 1
            case (let x?, let y?): if x != y { return x < y ? -1 : 1 }
            }
        }
    }

    static func hasPrefix<A: IteratorProtocol, B: IteratorProtocol>(_ a: A, _ prefix: B) -> Bool
    where A.Element == UInt8, B.Element == UInt8 {
        var a = a
        var prefix = prefix
        while let p = prefix.next() {
            guard let x = a.next(), x == p else { return false }
        }
        return true
    }

    /// Naive search: copies of the iterators remember places (they are small value types).
    static func containsSubstring<A: IteratorProtocol, B: IteratorProtocol>(_ haystack: A, _ needle: B) -> Bool
    where A.Element == UInt8, B.Element == UInt8 {
        var start = haystack
        while true {
            var probe = start
            var n = needle
            while true {
                guard let want = n.next() else { return true }
                guard let have = probe.next() else { return false }  // rest of haystack too short
                if have != want { break }
            }
            if start.next() == nil { return false }
        }
    }

    // The same operations on contiguous bytes (word at a time where it pays).

    @inline(__always)
    static func run(_ op: StringOp, _ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        switch op {
        case .compare: return compare(a, b)
        case .hasPrefix: return a.count >= b.count && equalBytes(a.baseAddress, b.baseAddress, b.count) ? 1 : 0
        case .containsSubstring: return containsSubstring(a, b) ? 1 : 0
        }
    }

    /// The n bytes at x and y are equal (either may be nil when n is 0).
    @inline(__always)
    static func equalBytes(_ x: UnsafeRawPointer?, _ y: UnsafeRawPointer?, _ n: Int) -> Bool {
        guard n > 0, let x, let y else { return true }
        var i = 0
        while i + 8 <= n {
            if x.loadUnaligned(fromByteOffset: i, as: UInt64.self) != y.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
                return false
            }
            i += 8
        }
        while i < n {
            if x.load(fromByteOffset: i, as: UInt8.self) != y.load(fromByteOffset: i, as: UInt8.self) { return false }
            i += 1
        }
        return true
    }

    @inline(__always)
    static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == b.count && equalBytes(a.baseAddress, b.baseAddress, a.count)
    }

    /// -1, 0, +1 by unsigned bytes, a shorter prefix first (memcmp order).
    static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let n = min(a.count, b.count)
        if n > 0, let x = a.baseAddress, let y = b.baseAddress {
            var i = 0
            while i + 8 <= n {
                let wx = UInt64(bigEndian: x.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let wy = UInt64(bigEndian: y.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                if wx != wy { return wx < wy ? -1 : 1 }
                i += 8
            }
            while i < n {
                let bx = x.load(fromByteOffset: i, as: UInt8.self)
                let by = y.load(fromByteOffset: i, as: UInt8.self)
                if bx != by { return bx < by ? -1 : 1 }
                i += 1
            }
        }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    static func containsSubstring(_ haystack: UnsafeRawBufferPointer, _ needle: UnsafeRawBufferPointer) -> Bool {
        let n = needle.count
        guard n > 0 else { return true }
        guard haystack.count >= n, let h = haystack.baseAddress, let first = needle.first else { return false }
        var i = 0
        while i + n <= haystack.count {
            if h.load(fromByteOffset: i, as: UInt8.self) == first && equalBytes(h + i, needle.baseAddress, n) {
                return true
            }
            i += 1
        }
        return false
    }

    static func codePointCount<A: IteratorProtocol>(_ a: A) -> Int where A.Element == UInt8 {
        var a = a
        var count = 0
        while let b = a.next() {
            if b & 0xC0 != 0x80 { count += 1 }  // count every byte that is not a continuation
        }
        return count
    }

    static func count<A: IteratorProtocol>(_ a: A) -> Int where A.Element == UInt8 {
        var a = a
        var count = 0
        while a.next() != nil { count += 1 }
        return count
    }
}

extension Machine {
    /// Deep comparisons stop (as unequal) beyond this depth, so hostile documents cannot
    /// exhaust the stack.
    static var maxDeepEqualDepth: Int { 64 }

    @inline(__always) func constantBytes(_ k: Int) -> ConstantBytes {
        let c = image.constants[k]
        return ConstantBytes(base: image.bytes, index: Int(c.string.start), end: Int(c.string.end))
    }

    /// size(): code points of S, elements of L, members of M; nil for other types.
    func size(_ p: FilterPosition) -> Int? {
        switch document.kind(at: p) {
        case .string: return StringAlgorithms.codePointCount(document.stringBytes(at: p))
        case .list, .map: return document.childCount(of: p)
        default: return nil
        }
    }

    @inline(__always) func kind(_ v: Value) -> FilterKind? {
        switch v {
        case .missing: return nil
        case .document(let p): return document.kind(at: p)
        case .constant(let k): return image.constants[k].kind
        case .number: return .number
        }
    }

    @inline(__always) func number(_ v: Value) -> FilterNumber? {
        switch v {
        case .missing: return nil
        case .document(let p): return document.number(at: p)
        case .constant(let k): return image.constants[k].number
        case .number(let n): return n
        }
    }

    @inline(__always) func constantBuffer(_ k: Int) -> UnsafeRawBufferPointer {
        let c = image.constants[k]
        return UnsafeRawBufferPointer(rebasing: image.bytes[Int(c.string.start)..<Int(c.string.end)])
    }

    /// The bytes of a string value when they are available verbatim (constants always are).
    @inline(__always) func contiguousString(_ v: Value) -> UnsafeRawBufferPointer? {
        switch v {
        case .document(let p): return document.contiguousString(at: p)
        case .constant(let k): return constantBuffer(k)
        default: return nil
        }
    }

    /// A string operation on two values already known to be strings.
    @inline(__always)
    func strings(_ op: StringOp, _ a: Value, _ b: Value) -> Int {
        if let x = contiguousString(a), let y = contiguousString(b) { return StringAlgorithms.run(op, x, y) }
        return iteratedStrings(op, a, b)
    }

    /// The same through iterators, for strings with escapes (or a document without
    /// contiguous strings).
    func iteratedStrings(_ op: StringOp, _ a: Value, _ b: Value) -> Int {
        switch (a, b) {
        case (.document(let pa), .document(let pb)):
            return StringAlgorithms.run(op, document.stringBytes(at: pa), document.stringBytes(at: pb))
        case (.document(let pa), .constant(let kb)):
            return StringAlgorithms.run(op, document.stringBytes(at: pa), constantBytes(kb))
        case (.constant(let ka), .document(let pb)):
            return StringAlgorithms.run(op, constantBytes(ka), document.stringBytes(at: pb))
        case (.constant(let ka), .constant(let kb)):
            return StringAlgorithms.run(op, constantBytes(ka), constantBytes(kb))
        default:
            return op == .compare ? 1 : 0
        }
    }

    /// -1/0/+1 when both are N or both S; nil otherwise (then every ordering comparison is false).
    func order(_ a: Value, _ b: Value) -> Int? {
        guard let ka = kind(a), let kb = kind(b), ka == kb else { return nil }
        switch ka {
        case .number:
            guard let x = number(a), let y = number(b) else { return nil }
            return FilterNumber.compare(x, y)
        case .string:
            return strings(.compare, a, b)
        default:
            return nil
        }
    }

    func equal(_ a: Value, _ b: Value) -> Bool {
        guard let ka = kind(a), let kb = kind(b), ka == kb else { return false }
        switch ka {
        case .null: return true
        case .bool: return bool(a) == bool(b)
        case .number:
            guard let x = number(a), let y = number(b) else { return false }
            return x == y
        case .string:
            if let x = contiguousString(a), let y = contiguousString(b) { return StringAlgorithms.equal(x, y) }
            return iteratedStrings(.compare, a, b) == 0
        case .list, .map:
            switch (a, b) {
            case (.document(let pa), .document(let pb)): return deepEqual(pa, pb, depth: 0)
            case (.document(let p), .constant(let k)), (.constant(let k), .document(let p)):
                return deepEqual(p, image.constants[k].value, depth: 0)
            case (.constant(let ka), .constant(let kb)): return image.constants[ka].value.sameValue(as: image.constants[kb].value)
            default: return false
            }
        }
    }

    @inline(__always) func bool(_ v: Value) -> Bool {
        switch v {
        case .document(let p): return document.bool(at: p)
        case .constant(let k): return image.constants[k].bool
        default: return false
        }
    }

    /// R(A) = K[i] for some i in start ..< start + count. The document value is classified once.
    func isIn(_ a: Value, _ start: Int, _ count: Int) -> Bool {
        guard let ka = kind(a) else { return false }
        if ka == .number {
            guard let x = number(a) else { return false }
            for k in start..<start + count where image.constants[k].kind == .number && image.constants[k].number == x {
                return true
            }
            return false
        }
        if ka == .string, let x = contiguousString(a) {
            for k in start..<start + count where image.constants[k].kind == .string {
                if StringAlgorithms.equal(x, constantBuffer(k)) { return true }
            }
            return false
        }
        for k in start..<start + count where image.constants[k].kind == ka {
            if equal(a, .constant(k)) { return true }
        }
        return false
    }

    func beginsWith(_ a: Value, _ b: Value) -> Bool {
        guard kind(a) == .string, kind(b) == .string else { return false }
        return strings(.hasPrefix, a, b) == 1
    }

    func contains(_ a: Value, _ b: Value) -> Bool {
        guard case .document(let p) = a else { return false }
        switch document.kind(at: p) {
        case .string:
            guard kind(b) == .string else { return false }
            return strings(.containsSubstring, a, b) == 1
        case .list:
            if case .missing = b { return false }
            var child = document.firstChild(of: p)
            while let element = child {
                if equal(.document(element), b) { return true }
                child = document.nextChild(after: element)
            }
            return false
        default:
            return false
        }
    }

    /// Deep equality of two document values.
    func deepEqual(_ a: FilterPosition, _ b: FilterPosition, depth: Int) -> Bool {
        let kind = document.kind(at: a)
        guard kind == document.kind(at: b) else { return false }
        switch kind {
        case .list:
            guard depth < Self.maxDeepEqualDepth else { return false }
            var x = document.firstChild(of: a)
            var y = document.firstChild(of: b)
            while true {
                switch (x, y) {
                case (nil, nil): return true
                case (let ex?, let ey?):
                    if !deepEqual(ex, ey, depth: depth + 1) { return false }
                    x = document.nextChild(after: ex)
                    y = document.nextChild(after: ey)
                default: return false
                }
            }
        case .map:
            guard depth < Self.maxDeepEqualDepth else { return false }
            guard document.childCount(of: a) == document.childCount(of: b) else { return false }
            var x = document.firstChild(of: a)
            while let member = x {
                var y = document.firstChild(of: b)
                var matched = false
                while let candidate = y {
                    if StringAlgorithms.compare(document.keyBytes(of: member), document.keyBytes(of: candidate)) == 0 {
                        matched = deepEqual(member, candidate, depth: depth + 1)
                        break
                    }
                    y = document.nextChild(after: candidate)
                }
                if !matched { return false }
                x = document.nextChild(after: member)
            }
            return true
        default:
            return equal(.document(a), .document(b))
        }
    }

    /// Deep equality of a document value and a constant.
    func deepEqual(_ p: FilterPosition, _ value: FilterValue, depth: Int) -> Bool {
        let kind = document.kind(at: p)
        switch value {
        case .null: return kind == .null
        case .bool(let b): return kind == .bool && document.bool(at: p) == b
        case .number(let n): return kind == .number && document.number(at: p) == n
        case .string(let s):
            return kind == .string && StringAlgorithms.compare(document.stringBytes(at: p), s.utf8.makeIterator()) == 0
        case .list(let items):
            guard kind == .list, depth < Self.maxDeepEqualDepth else { return false }
            var child = document.firstChild(of: p)
            for item in items {
                guard let element = child, deepEqual(element, item, depth: depth + 1) else { return false }
                child = document.nextChild(after: element)
            }
            return child == nil
        case .map(let members):
            guard kind == .map, depth < Self.maxDeepEqualDepth else { return false }
            guard document.childCount(of: p) == members.count else { return false }
            for (key, member) in members {
                var key = key
                let found = key.withUTF8 { utf8 in
                    let raw = UnsafeRawBufferPointer(utf8)
                    return document.member(of: p, key: raw, hash: FilterKeyHash.hash(raw))
                }
                guard let found, deepEqual(found, member, depth: depth + 1) else { return false }
            }
            return true
        }
    }
}
