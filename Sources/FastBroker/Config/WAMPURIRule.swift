// WAMPURIRule: the WAMP spec's URI syntax rules as the configuration applies them. The spec
// (basic/uri_reference) gives a strict rule (components of [0-9a-z_]) and a loose one (components
// free of whitespace, '.' and '#'); clients such as Autobahn check HELLO realms with the loose
// rule, so a realm must satisfy it to be reachable at all, and the loose rule also admits the
// names Crossbar users already have ("realm-1", "MyRealm").

enum WAMPURIRule {
    /// Loose rule, no empty components: `^([^\s\.#]+\.)*([^\s\.#]+)$`.
    static func isLooseNonEmpty(_ uri: String) -> Bool {
        var componentLength = 0
        for ch in uri {
            if ch == "." {
                if componentLength == 0 { return false }
                componentLength = 0
            } else if ch == "#" || ch.isWhitespace {
                return false
            } else {
                componentLength += 1
            }
        }
        return componentLength > 0
    }

    /// Loose rule, empty components allowed (patterns such as `com..update` or `com.myapp.`):
    /// `^(([^\s\.#]+\.)|\.)*([^\s\.#]+)?$`, which reduces to "no whitespace and no '#'".
    static func isLooseAllowingEmpty(_ uri: String) -> Bool {
        !uri.contains { $0 == "#" || $0.isWhitespace }
    }
}
