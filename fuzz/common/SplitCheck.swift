// The harness the wire-level fuzz targets share: an input's byte 0 picks where the ring's cursors
// start (so frames straddle the seam), byte 1 a chunk size, the rest is the stream. The stream is
// decoded twice — written whole, and in chunks — and both runs must log the same events. `feed`
// writes the stream into the ring and drives the decoder, trapping if it stops making progress or
// stalls with a full ring.

@testable import BrokerWire

/// What one decoder call did.
enum FeedStep {
    case needMore   // wants more bytes
    case again      // produced an event; call again
    case stop       // a (sticky) failure: stop feeding
}

/// The libFuzzer entry body: decodes twice with `events` and requires equal logs. Returns the log
/// (nil for an input too short to have a stream) for checks that need run only once.
@discardableResult
func checkSplitInvariance<Log: Equatable>(_ data: UnsafePointer<UInt8>, _ size: Int, _ name: String,
                                          events: (UnsafeBufferPointer<UInt8>, RingBuffer, Int) -> Log) -> Log? {
    guard size >= 2 else { return nil }
    let stream = UnsafeBufferPointer(start: data + 2, count: size - 2)
    let start = Int(data[0])
    let whole = events(stream, RingBuffer(capacity: 64, startingAt: start), stream.count)
    let split = events(stream, RingBuffer(capacity: 64, startingAt: start), Int(data[1] % 32) + 1)
    precondition(whole == split, "\(name) depends on how the bytes were split")
    return whole
}

/// Writes `stream` into `ring` `chunk` bytes at a time, calling `step` after each write until it
/// needs more bytes; stops for good when it returns `.stop`.
func feed(_ stream: UnsafeBufferPointer<UInt8>, into ring: RingBuffer, chunk: Int, name: String,
          step: () -> FeedStep) {
    var position = 0
    var calls = 0
    while position < stream.count {
        let region = ring.writableRegion()
        precondition(region.count > 0, "\(name) stalled with a full ring")
        let n = min(region.count, chunk, stream.count - position)
        region.baseAddress!.copyMemory(from: stream.baseAddress! + position, byteCount: n)
        ring.didWrite(n)
        position += n
        while true {
            calls += 1
            precondition(calls <= 2 * stream.count + 16, "\(name) makes no progress")
            switch step() {
            case .needMore: break
            case .again: continue
            case .stop: return
            }
            break
        }
    }
}
