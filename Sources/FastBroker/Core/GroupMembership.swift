// The member-side record of a consumer-group membership (ConsumerGroup.swift has the protocol).
// Owned by the session's loop thread.

final class GroupMembership {
    let member: GroupMember
    /// Deliveries accepted from the home loop; the home loop compares it with what it sent to
    /// know how many deliveries are still on their way back after a leave.
    var processed = 0

    init(member: GroupMember) {
        self.member = member
    }
}
