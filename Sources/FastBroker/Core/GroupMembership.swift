// The member-side record of a consumer-group membership (ConsumerGroup.swift has the protocol).
// Owned by the session's loop thread.

final class GroupMembership {
    let member: GroupMember
    /// The member's session: it leaves every membership before it goes (Session.detach).
    unowned let session: Session
    /// The member's subscription id, as the home loop reported it in the join result.
    let subscriptionID: UInt64
    /// Its digits, made once for every EVENT of the membership.
    let decimalID: DecimalID
    /// Deliveries accepted from the home loop; the home loop compares it with what it sent to
    /// know how many deliveries are still on their way back after a leave.
    var processed = 0
    /// Publication ids of the last deliveries accepted (a ring): when the connection dies, those
    /// not taken back are the ones handed to the dead socket — reported, since they may be lost.
    private var recent = [UInt64](repeating: 0, count: GroupMembership.recentLimit)
    private var recentCount = 0
    static let recentLimit = 256

    init(member: GroupMember, session: Session, subscriptionID: UInt64) {
        self.member = member
        self.session = session
        self.subscriptionID = subscriptionID
        decimalID = DecimalID(subscriptionID)
    }

    func recordAccepted(_ publication: UInt64) {
        recent[recentCount % Self.recentLimit] = publication
        recentCount += 1
    }

    /// The recently accepted publications, oldest first.
    var recentlyAccepted: [UInt64] {
        let n = min(recentCount, Self.recentLimit)
        return (recentCount - n..<recentCount).map { recent[$0 % Self.recentLimit] }
    }
}
