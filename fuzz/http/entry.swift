// libFuzzer entry for HTTPRequestParser and the WebSocket upgrade check. Input: byte 0 picks where
// the ring's cursors start, byte 1 a chunk size, the rest is the stream. The stream is parsed twice,
// written whole and in chunks; both runs must agree byte for byte. Every head of the whole run is
// then put through parseUpgrade (a pure function of the head, so the split run's equal heads would
// give the same answers: running it once halves its cost).

@testable import BrokerWire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard let events = checkSplitInvariance(data, size, "HTTP parsing", events: httpEvents) else { return 0 }
    for case .head(let head) in events {
        switch WebSocketHandshake.parseUpgrade(head) {
        case .success(let request):
            precondition(!WebSocketHandshake.acceptValue(forKey: request.key).isEmpty, "empty accept value")
        case .failure(let error):
            precondition((400...499).contains(error.status), "handshake status \(error.status)")
            precondition(!error.response().isEmpty, "empty refusal")
        }
    }
    return 0
}

/// Small enough that the fuzzer reaches the limit.
let fuzzHTTPLimit = 1024

/// One parser event. Compared as bytes (String's == would equate canonically equivalent text),
/// without building strings: the log used to be formatted text, a fifth of each run.
enum HTTPEvent: Equatable {
    case head(HTTPRequestHead)
    case failure(String)

    static func == (a: HTTPEvent, b: HTTPEvent) -> Bool {
        switch (a, b) {
        case (.head(let x), .head(let y)):
            return same(x.method, y.method) && same(x.target, y.target) && same(x.version, y.version)
                && x.headers.elementsEqual(y.headers) { same($0.name, $1.name) && same($0.value, $1.value) }
        case (.failure(let x), .failure(let y)):
            return same(x, y)
        default:
            return false
        }
    }

    private static func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }
}

func httpEvents(_ stream: UnsafeBufferPointer<UInt8>, ring: RingBuffer, chunk: Int) -> [HTTPEvent] {
    var parser = HTTPRequestParser(maxHeadBytes: fuzzHTTPLimit)
    var log: [HTTPEvent] = []
    feed(stream, into: ring, chunk: chunk, name: "HTTP parser") {
        switch parser.next(ring) {
        case .needMore: return .needMore
        case .head(let head):
            log.append(.head(head))
            return .again
        case .failure(let message):
            log.append(.failure(message))
            return .stop
        }
    }
    return log
}
