// libFuzzer entry for HTTPRequestParser and the WebSocket upgrade check. Input: byte 0 picks where
// the ring's cursors start, byte 1 a chunk size, the rest is the stream. The stream is parsed twice,
// written whole and in chunks; both runs must agree. Every head is put through parseUpgrade.

@testable import BrokerWire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    checkSplitInvariance(data, size, "HTTP parsing", events: httpEvents)
}

/// Small enough that the fuzzer reaches the limit.
let fuzzHTTPLimit = 1024

func httpEvents(_ stream: UnsafeBufferPointer<UInt8>, ring: RingBuffer, chunk: Int) -> [String] {
    var parser = HTTPRequestParser(maxHeadBytes: fuzzHTTPLimit)
    var log: [String] = []
    feed(stream, into: ring, chunk: chunk, name: "HTTP parser") {
        switch parser.next(ring) {
        case .needMore: return .needMore
        case .head(let head):
            log.append("\(head.method) \(head.target) \(head.version) \(head.headers.map { "\($0.name)=\($0.value)" })")
            switch WebSocketHandshake.parseUpgrade(head) {
            case .success(let request):
                log.append("upgrade \(request) \(WebSocketHandshake.acceptValue(forKey: request.key))")
            case .failure(let error):
                precondition((400...499).contains(error.status), "handshake status \(error.status)")
                log.append("refused \(error)")
                _ = error.response()
            }
            return .again
        case .failure(let message):
            log.append("failure \(message)")
            return .stop
        }
    }
    return log
}
