// The router's filter memo: one verdict per program per event, forgotten at the next event;
// slots shared by every holder of the same program and reused once the last one lets go.

@testable import FastBroker
import FilterVM
import XCTest

final class FilterMemoTests: XCTestCase {
    private func withPublication<T>(kwargs: String, _ body: (Publication) -> T) -> T {
        var topic = "com.t", kwargs = kwargs
        return topic.withUTF8 { t in
            kwargs.withUTF8 { k in
                body(Publication(id: 1, topic: UnsafeRawBufferPointer(t), format: .json,
                                 args: UnsafeRawBufferPointer(start: nil, count: 0), kwargs: UnsafeRawBufferPointer(k),
                                 excludedSession: 0, disclosedPublisher: nil, rules: nil))
            }
        }
    }

    func testAVerdictHoldsForOneEventOnly() throws {
        let program = try FilterProgram.compile("k >= :v", values: [":v": .number(FilterNumber(10))], names: [:])
        var memo = FilterMemo()
        let slot = memo.acquireSlot(BytewiseString(program.fingerprint))
        memo.startEvent()
        XCTAssertTrue(withPublication(kwargs: #"{"k":10}"#) { memo.passes(program, slot: slot, $0) })
        // Same event: the memo answers without running the program (it would say false here).
        XCTAssertTrue(withPublication(kwargs: #"{"k":1}"#) { memo.passes(program, slot: slot, $0) })
        memo.startEvent()
        XCTAssertFalse(withPublication(kwargs: #"{"k":1}"#) { memo.passes(program, slot: slot, $0) })
    }

    func testAFreshSlotHasNoVerdictBeforeTheFirstEvent() throws {
        let program = try FilterProgram.compile("k >= :v", values: [":v": .number(FilterNumber(10))], names: [:])
        var memo = FilterMemo()
        let slot = memo.acquireSlot(BytewiseString(program.fingerprint))
        XCTAssertTrue(withPublication(kwargs: #"{"k":10}"#) { memo.passes(program, slot: slot, $0) })
    }

    func testSlotsAreSharedByFingerprintAndReusedAfterTheLastRelease() {
        var memo = FilterMemo()
        let a = memo.acquireSlot(BytewiseString("a"))
        XCTAssertEqual(memo.acquireSlot(BytewiseString("a")), a, "same program, same slot")
        let b = memo.acquireSlot(BytewiseString("b"))
        XCTAssertNotEqual(a, b)
        memo.releaseSlot(BytewiseString("a"))
        XCTAssertNotEqual(memo.acquireSlot(BytewiseString("c")), a, "a is still held once")
        memo.releaseSlot(BytewiseString("a"))
        XCTAssertEqual(memo.acquireSlot(BytewiseString("d")), a, "the freed slot is reused")
    }
}
