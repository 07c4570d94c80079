// Opening a session (SPEC §3–4): HELLO names a realm and the authentication methods the client
// offers; `handleHello` asks the realm's authenticator (Security/RealmAuthenticator: wampcra,
// ticket, cryptosign, anonymous) in one place, then either CHALLENGEs or WELCOMEs. A failed
// AUTHENTICATE and an unknown authid take the same path (throttle, delay, ABORT), so the reply
// does not tell which it was. Runs on the connection's loop thread, except a ticket's PBKDF2,
// which runs on the thread pool (bounded per loop) while the session waits in `.verifying`.

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
        // Authentication method dispatch: the realm's authenticator picks the method (SPEC §4
        // order) and says whether to challenge, welcome anonymously or refuse.
        switch realm.authenticator.decide(hello: details, session: id) {
        case .malformed(let problem):
            protocolViolation(problem)
        case .refuse(let message):
            abort(message: message, reason: WampURI.notAuthorized)
        case .challenge(let challenge):
            state = .challenged(challenge, realm)
            identity = SessionIdentity(authid: challenge.authid, authrole: challenge.authrole, authmethod: challenge.method,
                                       authprovider: "userdb")
            connection.send { out in WampEncoder.challenge(method: challenge.method, extra: challenge.extra, format: format, into: &out) }
        case .anonymous(let authid):
            identity = SessionIdentity(authid: anonymousAuthid(requested: authid, realm: realm), authrole: realm.config.anonymousRole!,
                                       authmethod: "anonymous", authprovider: "static")
            welcome(realm)
        }
    }

    /// SPEC §3: the broker picks an anonymous session's authid; the HELLO's is kept only where the
    /// realm allows it and it names no userdb user (else anyone could act as that user in
    /// eligible_authid/exclude_authid and publisher_authid). An empty authid counts as none.
    private func anonymousAuthid(requested: String?, realm: Realm) -> String {
        if let requested, !requested.isEmpty, realm.config.anonymousKeepsAuthid,
           !realm.authenticator.knowsUser(requested) {
            return requested
        }
        return Self.anonymousAuthid()
    }

    /// Ticket checks in flight (queued or running on the thread pool) per loop. Beyond it an
    /// AUTHENTICATE is refused at once (`limit_exceeded`, not a verdict), decided by that count
    /// alone: the same for a real user, a wrong ticket and an unknown authid, so it says nothing
    /// about who exists. 64 keeps the
    /// queue a legitimate client waits behind short (64 × ~5 ms over the pool's 4 threads at
    /// 10,000 iterations) while a login burst after a restart mostly fits.
    static let maxPendingAuthentications = 64

    func handleAuthenticate(_ m: WampMessageView, _ challenge: AuthChallenge, _ realm: Realm) {
        guard m.count == 3, m.kind(1) == .string, m.object(2) != nil else {
            return protocolViolation("AUTHENTICATE must be [5, Signature|string, Extra|dict]")
        }
        let signature = m.string(1)!
        guard challenge.verifiesOffLoop else {
            return conclude(verified: challenge.verify(signature), challenge, realm)
        }
        // PBKDF2 runs on the thread pool so this loop's other sessions keep moving. The work
        // holds only the check and the answer; the session may close meanwhile, and then the
        // completion finds it closed (or gone: it is held weakly) and does nothing.
        let queued = context.authVerifications.submit({ challenge.verify(signature) }) { [weak self] verified in
            guard let self, case .verifying = self.state else { return }
            self.conclude(verified: verified, challenge, realm)
        }
        guard queued else {
            context.metrics.limitRefusals[.pendingAuthentications].increment()
            return abort(message: "\(Self.maxPendingAuthentications) authentications are already being verified on this "
                + "broker thread (the pending-authentication limit); try again later", reason: WampURI.limitExceeded)
        }
        state = .verifying
    }

    /// The verdict on a checked AUTHENTICATE. Unknown authids and wrong secrets take the same
    /// path: the same throttle, delay and ABORT.
    private func conclude(verified: Bool, _ challenge: AuthChallenge, _ realm: Realm) {
        let throttle = realm.authThrottle
        if verified {
            deliverVerdict(after: throttle.recordSuccess(authid: challenge.throttleKey)) { $0.welcome(realm) }
        } else {
            let delay = throttle.recordFailure(peer: connection.peer, authid: challenge.throttleKey)
            context.log.info("session \(id) authentication failed", metadata: ["authid": "\(LogText.escaped(identity.authid))"])
            deliverVerdict(after: delay) {
                $0.abort(message: challenge.failureMessage, reason: WampURI.notAuthorized)
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
        establish(Established(realm: realm, router: router, ref: context.registerSession(self)))
        connection.didEstablishSession()
        context.metrics.sessionsOpened.increment()
        context.log.info("session \(id) opened", metadata: [
            "realm": "\(realm.name)", "authid": "\(LogText.escaped(identity.authid))", "authrole": "\(identity.authrole)",
            "authmethod": "\(identity.authmethod)", "peer": "\(connection.peer)",
        ])
        let (id, identity) = (self.id, self.identity)
        connection.send { out in WampEncoder.welcome(session: id, identity: identity, format: format, into: &out) }
        router.announceJoin(self)
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
