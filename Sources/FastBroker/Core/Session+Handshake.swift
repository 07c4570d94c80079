// Opening a session (SPEC §3–4): HELLO names a realm and the authentication methods the client
// offers; `handleHello` picks one in one place (wampcra when the realm has a user database and
// the client offers it, else anonymous when the realm allows it), then either CHALLENGEs or
// WELCOMEs. A failed AUTHENTICATE and an unknown authid take the same path (throttle, delay,
// ABORT), so the reply does not tell which it was. Runs on the connection's loop thread.

import BrokerLoop
import BrokerSecurity
import BrokerSerialization

extension Session {
    func handleHello(_ m: WampMessageView) {
        guard m.count == 3, m.kind(1) == .string, let details = m.object(2) else {
            return protocolViolation("HELLO must be [1, Realm|uri, Details|dict]")
        }
        let realmName = m.string(1)!
        id = context.ids.next()
        guard let realm = context.server.realms[BytewiseString(realmName)] else {
            return abort(message: "The realm does not exist.", reason: WampURI.noSuchRealm)
        }
        let methods = details.stringArray(forKey: "authmethods")
        if details.value(forKey: "authmethods") != nil && methods == nil {
            return protocolViolation("HELLO.Details.authmethods must be a list of strings")
        }
        let authid = details.string(forKey: "authid")
        if details.value(forKey: "authid") != nil && authid == nil {
            return protocolViolation("HELLO.Details.authid must be a string")
        }

        // Authentication method dispatch.
        if let methods, methods.contains("wampcra"), let database = realm.userDatabase {
            guard let authid else {
                return abort(message: "wampcra needs an authid in HELLO.Details", reason: WampURI.notAuthorized)
            }
            let challenge = WampCRA.makeChallenge(authid: authid, session: id, user: database.lookup(authid), database: database)
            state = .challenged(challenge, realm)
            identity = SessionIdentity(authid: authid, authrole: challenge.authrole, authmethod: "wampcra", authprovider: "userdb")
            connection.send { out in
                WampEncoder.challenge(ChallengeDetails(challenge: challenge.challenge, salt: challenge.salt,
                                                       keyLength: challenge.keyLength, iterations: challenge.iterations),
                                      format: format, into: &out)
            }
            return
        }
        let wantsAnonymous = methods == nil || methods!.isEmpty || methods!.contains("anonymous")
        guard wantsAnonymous, let role = realm.config.anonymousRole else {
            let offered = methods?.joined(separator: ", ") ?? "anonymous"
            return abort(message: "realm \(realm.name) does not accept authentication by \(offered)", reason: WampURI.notAuthorized)
        }
        identity = SessionIdentity(authid: anonymousAuthid(requested: authid, realm: realm), authrole: role,
                                   authmethod: "anonymous", authprovider: "static")
        welcome(realm)
    }

    /// SPEC §3: the broker picks an anonymous session's authid; the HELLO's is kept only where the
    /// realm allows it and it names no userdb user (else anyone could act as that user in
    /// eligible_authid/exclude_authid and publisher_authid). An empty authid counts as none.
    private func anonymousAuthid(requested: String?, realm: Realm) -> String {
        if let requested, !requested.isEmpty, realm.config.anonymousKeepsAuthid,
           realm.userDatabase?.lookup(requested) == nil {
            return requested
        }
        return Self.anonymousAuthid()
    }

    func handleAuthenticate(_ m: WampMessageView, _ challenge: WampCRAChallenge, _ realm: Realm) {
        guard m.count == 3, m.kind(1) == .string, m.object(2) != nil else {
            return protocolViolation("AUTHENTICATE must be [5, Signature|string, Extra|dict]")
        }
        // Unknown authids and wrong secrets take the same path: the same throttle, delay and ABORT.
        let verified = WampCRA.verify(signature: m.string(1)!, challenge: challenge)
        let throttle = realm.authThrottle
        if verified {
            deliverVerdict(after: throttle.recordSuccess(authid: challenge.authid)) { $0.welcome(realm) }
        } else {
            let delay = throttle.recordFailure(peer: connection.peer, authid: challenge.authid)
            context.log.info("session \(id) authentication failed", metadata: ["authid": "\(LogText.escaped(identity.authid))"])
            deliverVerdict(after: delay) {
                $0.abort(message: "WAMP-CRA signature is invalid (wrong secret or unknown authid)", reason: WampURI.notAuthorized)
            }
        }
    }

    /// Sends the verdict after `milliseconds` (at once for 0). Meanwhile the session is inert; if
    /// the transport goes first, the timer is closed with the session (`stopVerdictTimer`).
    private func deliverVerdict(after milliseconds: UInt64, _ verdict: @escaping (Session) -> Void) {
        guard milliseconds > 0 else { return verdict(self) }
        state = .awaitingVerdict
        let timer = LoopTimer(loop: context.loop)
        timer.start(milliseconds: milliseconds) { [weak self] in
            guard let self, case .awaitingVerdict = self.state else { return }
            self.stopVerdictTimer()
            verdict(self)
        }
        verdictTimer = timer
    }

    func stopVerdictTimer() {
        verdictTimer?.close()
        verdictTimer = nil
    }

    private func welcome(_ realm: Realm) {
        let router = realm.routers[context.index]
        state = .established(Established(realm: realm, router: router, ref: context.registerSession(self)))
        connection.didEstablishSession()
        context.metrics.sessionsOpened.increment()
        context.log.info("session \(id) opened", metadata: [
            "realm": "\(realm.name)", "authid": "\(LogText.escaped(identity.authid))", "authrole": "\(identity.authrole)",
            "authmethod": "\(identity.authmethod)", "peer": "\(connection.peer)",
        ])
        let (id, identity) = (self.id, self.identity)
        connection.send { out in WampEncoder.welcome(session: id, identity: identity, format: format, into: &out) }
    }

    /// A random authid for an anonymous session that gave none, in Crossbar's style
    /// ("XXXX-XXXX-XXXX-XXXX-XXXX-XXXX"), so exclude_authid/eligible_authid can tell them apart.
    private static func anonymousAuthid() -> String {
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZ23456789".utf8)   // no 0/O, 1/I
        let random = Crypto.randomBytes(24)
        var text = [UInt8]()
        for (i, byte) in random.enumerated() {
            if i > 0 && i % 4 == 0 { text.append(UInt8(ascii: "-")) }
            text.append(alphabet[Int(byte) % alphabet.count])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
