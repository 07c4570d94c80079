// A router's memo of content-filter verdicts (SPEC §5.1): each distinct program (by fingerprint)
// gets a slot, and while one event is being routed a program runs at most once, however many
// subscriptions and group members (topics, patterns) share it. `startEvent` is the one place a
// new event begins: it invalidates every verdict by moving to the next generation, in O(1).
//
// Fingerprints are built from client text, so they compare as bytes like every such key.
// Owned by its router's loop thread.

import BrokerSerialization
import FilterVM

struct FilterMemo {
    private var slots: [BytewiseString: (slot: Int, users: Int)] = [:]
    private var freeSlots: [Int] = []
    /// Per slot: the generation its `verdicts` entry was computed in.
    private var computedIn: [UInt64] = []
    private var verdicts: [Bool] = []
    /// Starts above the 0 a fresh slot holds, so no verdict is valid before it is computed.
    private var generation: UInt64 = 1

    /// Verdicts computed before this call no longer count: the next event is a different one.
    @inline(__always)
    mutating func startEvent() {
        generation &+= 1
    }

    /// The filter's verdict on this publication's kwargs, computed at most once per event.
    @inline(__always)
    mutating func passes(_ filter: FilterProgram, slot: Int, _ publication: Publication) -> Bool {
        if computedIn[slot] == generation { return verdicts[slot] }
        let verdict: Bool
        switch publication.format {
        case .json: verdict = filter.evaluate(JSONFilterDocument(publication.kwargs))
        case .msgpack: verdict = filter.evaluate(MessagePackFilterDocument(publication.kwargs))
        case .cbor: verdict = filter.evaluate(CBORFilterDocument(publication.kwargs))
        }
        computedIn[slot] = generation
        verdicts[slot] = verdict
        return verdict
    }

    /// The slot for the program with `fingerprint`, shared with every holder of the same program.
    mutating func acquireSlot(_ fingerprint: BytewiseString) -> Int {
        if let entry = slots[fingerprint] {
            slots[fingerprint] = (entry.slot, entry.users + 1)
            return entry.slot
        }
        let slot: Int
        if let reused = freeSlots.popLast() {
            slot = reused
        } else {
            slot = computedIn.count
            computedIn.append(0)
            verdicts.append(false)
        }
        computedIn[slot] = 0
        slots[fingerprint] = (slot, 1)
        return slot
    }

    mutating func releaseSlot(_ fingerprint: BytewiseString) {
        guard let entry = slots[fingerprint] else { return }
        if entry.users == 1 {
            slots[fingerprint] = nil
            freeSlots.append(entry.slot)
        } else {
            slots[fingerprint] = (entry.slot, entry.users - 1)
        }
    }
}
