// libFuzzer entry for WebSocketDecoder. Input: byte 0 picks where the ring's cursors start (so frames
// straddle the seam), byte 1 a chunk size, the rest is the stream. The stream is decoded twice, written
// whole and in chunks; both runs must give the same events, and payloads must respect the limits.

@testable import BrokerWire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebSocket(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    checkSplitInvariance(data, size, "WebSocket decoding", events: webSocketEvents)
    return 0
}

let fuzzWebSocketLimit = 4096

/// The events as one flat log: a kind byte, then the payload length and bytes.
func webSocketEvents(_ stream: UnsafeBufferPointer<UInt8>, ring: RingBuffer, chunk: Int) -> [UInt8] {
    var decoder = WebSocketDecoder(maxMessageBytes: fuzzWebSocketLimit)
    var log: [UInt8] = []
    func append(_ kind: UInt8, _ payload: UnsafeMutableRawBufferPointer, limit: Int) {
        precondition(payload.count <= limit, "payload over the limit")
        log.append(kind)
        withUnsafeBytes(of: payload.count) { log += $0 }
        log += payload
    }
    feed(stream, into: ring, chunk: chunk, name: "WebSocket decoder") {
        switch decoder.next(ring) {
        case .needMore: return .needMore
        case .message(let opcode, let p):
            precondition(opcode == .text || opcode == .binary, "message with a non-data opcode")
            append(opcode.rawValue, p, limit: fuzzWebSocketLimit)
        case .ping(let p): append(9, p, limit: 125)
        case .pong: log.append(10)
        case .close(let code, let reason):
            log += [8, UInt8((code ?? 0) >> 8), UInt8((code ?? 0) & 0xFF)]
            append(8, reason, limit: 123)
            return .stop
        case .failure(let code, let reason):
            // 1002 protocol error, 1007 invalid UTF-8 (a close reason), 1009 too big.
            precondition(code == 1002 || code == 1007 || code == 1009, "unexpected close code \(code)")
            log += [0xFF] + Array(reason.utf8)
            return .stop
        }
        return .again
    }
    return log
}
