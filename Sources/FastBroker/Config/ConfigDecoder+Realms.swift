// ConfigDecoder+Realms: one `realms` entry (SPEC §6): name, user database, roles and their
// permissions, with URIs judged against limits.max_uri_bytes.

import BrokerSerialization

extension ConfigDecoder {
    mutating func decodeRealm(_ node: JSONTreeNode, at path: String) -> RealmConfig? {
        guard let object = self.object(node, at: path, allowed: ["name", "auth", "roles"]) else { return nil }
        let issuesBefore = issues.count

        let name = require(object, "name").flatMap { string($0, at: object.path("name")) }
        if let name, !WAMPURIRule.isLooseNonEmpty(name) {
            report(
                object.path("name"),
                "\(ConfigValueText.quoted(name)) is not a valid realm URI: expected dot-separated non-empty components "
                    + "without whitespace or '#' (e.g. \"realm1\", \"com.example.app\")")
        }

        var userDBs: [String: String] = [:]   // method → userdb path
        var anonymousRole: (name: String, jsonPath: String)? = nil
        var keepAuthid = false
        let userDBMethods = ["wampcra", "ticket", "cryptosign"]
        let noAuth = "a realm needs at least one authentication method: \"anonymous\", \"wampcra\", \"ticket\" or \"cryptosign\""
        if let authNode = object["auth"] {
            if let auth = self.object(authNode, at: object.path("auth"), allowed: ["anonymous"] + userDBMethods) {
                if auth["anonymous"] == nil && userDBMethods.allSatisfy({ auth[$0] == nil }) { report(auth.path, noAuth) }
                for method in userDBMethods {
                    if let node = auth[method], let entry = self.object(node, at: auth.path(method), allowed: ["userdb"]) {
                        userDBs[method] = require(entry, "userdb").flatMap { file($0, at: entry.path("userdb")) }
                    }
                }
                if let node = auth["anonymous"],
                   let anonymous = self.object(node, at: auth.path("anonymous"), allowed: ["role", "keep_authid"]) {
                    if let role = require(anonymous, "role").flatMap({ string($0, at: anonymous.path("role"), nonEmpty: true) }) {
                        anonymousRole = (role, anonymous.path("role"))
                    }
                    keepAuthid = anonymous["keep_authid"].flatMap { bool($0, at: anonymous.path("keep_authid")) } ?? false
                }
            }
        } else {
            report(path, "missing required key \"auth\" (\(noAuth))")
        }

        var roles: [RoleConfig] = []
        var roleNames: [String] = []
        var allRoleNamesKnown = false  // false while some role's name is missing or malformed
        if let rolesNode = require(object, "roles"), let elements = array(rolesNode, at: object.path("roles")) {
            allRoleNamesKnown = true
            if elements.isEmpty { report(object.path("roles"), "at least one role is required (a realm without roles grants nothing)") }
            var firstPathByName: [String: String] = [:]
            for (i, element) in elements.enumerated() {
                let rolePath = JSONPath.element(object.path("roles"), i)
                let (roleName, role) = decodeRole(element, at: rolePath)
                guard let roleName else {
                    allRoleNamesKnown = false
                    continue
                }
                if let first = firstPathByName[roleName] {
                    report(JSONPath.member(rolePath, "name"), "duplicate role name \(ConfigValueText.quoted(roleName)) (first at \(first))")
                } else {
                    firstPathByName[roleName] = rolePath
                    roleNames.append(roleName)
                }
                if let role { roles.append(role) }
            }
        }

        // Judged only against a complete list of role names, so one typo is not reported twice.
        if let anonymousRole, allRoleNamesKnown, !roleNames.contains(anonymousRole.name) {
            let known = roleNames.isEmpty ? "none" : roleNames.map { ConfigValueText.quoted($0) }.joined(separator: ", ")
            var message = "no role named \(ConfigValueText.quoted(anonymousRole.name)) in this realm (roles: \(known))"
            if let guess = ConfigKeySuggestion.closest(to: anonymousRole.name, in: roleNames) {
                message += "; did you mean \(ConfigValueText.quoted(guess))?"
            }
            report(anonymousRole.jsonPath, message)
        }

        guard issues.count == issuesBefore, let name else { return nil }
        return RealmConfig(name: name, wampcraUserDB: userDBs["wampcra"], anonymousRole: anonymousRole?.name,
                           anonymousKeepsAuthid: keepAuthid, roles: roles, ticketUserDB: userDBs["ticket"],
                           cryptosignUserDB: userDBs["cryptosign"])
    }

    /// The role's name (when valid, even if its permissions are not) and the role (when all valid).
    mutating func decodeRole(_ node: JSONTreeNode, at path: String) -> (String?, RoleConfig?) {
        guard let object = self.object(node, at: path, allowed: ["name", "permissions"]) else { return (nil, nil) }
        let issuesBefore = issues.count
        let name = require(object, "name").flatMap { string($0, at: object.path("name"), nonEmpty: true) }
        var permissions: [Permission] = []
        if let node = require(object, "permissions"), let elements = array(node, at: object.path("permissions")) {
            for (i, element) in elements.enumerated() {
                if let permission = decodePermission(element, at: JSONPath.element(object.path("permissions"), i)) {
                    permissions.append(permission)
                }
            }
        }
        guard issues.count == issuesBefore, let name else { return (name, nil) }
        return (name, RoleConfig(name: name, permissions: permissions))
    }

    mutating func decodePermission(_ node: JSONTreeNode, at path: String) -> Permission? {
        guard let object = self.object(node, at: path, allowed: ["uri", "match", "publish", "subscribe"]) else { return nil }
        let issuesBefore = issues.count
        let uri = require(object, "uri").flatMap { string($0, at: object.path("uri")) }
        let match = object["match"].map { choice($0, at: object.path("match"), MatchPolicy.self) } ?? .exact
        let publish = object["publish"].flatMap { bool($0, at: object.path("publish")) } ?? false
        let subscribe = object["subscribe"].flatMap { bool($0, at: object.path("subscribe")) } ?? false
        if let uri {
            if let maxURIBytes, uri.utf8.count > maxURIBytes {
                report(object.path("uri"), "a URI of \(uri.utf8.count) bytes is longer than limits.max_uri_bytes (\(maxURIBytes))")
            } else if !WAMPURIRule.isLooseAllowingEmpty(uri) {
                report(object.path("uri"), "\(ConfigValueText.quoted(uri)) is not a valid URI pattern: whitespace and '#' are not allowed")
            } else if uri.isEmpty && match == .exact {
                report(
                    object.path("uri"),
                    "an empty URI with \"match\": \"exact\" matches nothing; use \"match\": \"prefix\" to match every URI")
            }
        }
        guard issues.count == issuesBefore, let uri, let match else { return nil }
        return Permission(uri: uri, match: match, publish: publish, subscribe: subscribe)
    }
}
