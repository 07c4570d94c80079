// ConfigKeySuggestion: "did you mean ...?" for a mistyped configuration key, enumeration value or
// role name, by edit distance.

enum ConfigKeySuggestion {
    /// The allowed name closest to `key`, if it is within a couple of edits (a typo, not a different word).
    static func closest(to key: String, in allowed: [String]) -> String? {
        let typed = Array(key.lowercased().unicodeScalars)
        var best: (key: String, distance: Int)? = nil
        for candidate in allowed {
            let distance = editDistance(typed, Array(candidate.unicodeScalars))
            if distance <= max(1, min(2, candidate.unicodeScalars.count / 3)) && distance < (best?.distance ?? Int.max) {
                best = (candidate, distance)
            }
        }
        return best?.key
    }

    /// Levenshtein distance, one row at a time.
    static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
