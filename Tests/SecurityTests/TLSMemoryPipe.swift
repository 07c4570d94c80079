// Two TLSConnections (a client and a server) joined in memory: each round moves the ciphertext
// one side produced to the other and lets both decrypt, until nothing moves. Records what each
// side received and how each ended, so tests can assert on both ends.

import XCTest
@testable import BrokerSecurity

final class TLSMemoryPipe {
    let client: TLSConnection
    let server: TLSConnection
    var clientReceived: [UInt8] = []
    var serverReceived: [UInt8] = []
    var clientEnd: TLSReadResult?
    var serverEnd: TLSReadResult?
    /// Every ciphertext byte each side sent, in order.
    var clientSent: [UInt8] = []
    var serverSent: [UInt8] = []
    private var readBuffer: [UInt8]
    private var outbox: [UInt8] = []

    /// Ciphertext is handed over in pieces of at most this many bytes, each followed by a read.
    private let deliveryChunk: Int

    init(client: TLSConnection, server: TLSConnection, readBufferSize: Int = 64 * 1024, deliveryChunk: Int = .max) {
        self.deliveryChunk = deliveryChunk
        self.client = client
        self.server = server
        readBuffer = [UInt8](repeating: 0, count: readBufferSize)
        client.startHandshake()
    }

    /// Runs rounds until neither side has anything to send. Returns the number of rounds.
    @discardableResult
    func run(maxRounds: Int = 10_000) -> Int {
        for round in 1...maxRounds {
            if step() == 0 && !client.hasPendingCiphertext && !server.hasPendingCiphertext {
                return round
            }
        }
        XCTFail("TLS pipe still busy after \(maxRounds) rounds")
        return maxRounds
    }

    /// One round: client → server, then server → client. Returns the ciphertext bytes moved.
    @discardableResult
    func step() -> Int {
        let fromClient = move(from: client, to: server, log: &clientSent, end: &serverEnd, received: &serverReceived)
        let fromServer = move(from: server, to: client, log: &serverSent, end: &clientEnd, received: &clientReceived)
        return fromClient + fromServer
    }

    var handshakeCompleted: Bool { client.isHandshakeComplete && server.isHandshakeComplete }

    private func move(from sender: TLSConnection, to receiver: TLSConnection, log: inout [UInt8],
                      end: inout TLSReadResult?, received: inout [UInt8]) -> Int {
        outbox.removeAll(keepingCapacity: true)
        let n = sender.takeCiphertext(into: &outbox)
        XCTAssertEqual(n, outbox.count)
        log.append(contentsOf: outbox)
        var offset = 0
        repeat {
            let piece = min(deliveryChunk, outbox.count - offset)
            outbox.withUnsafeBytes { receiver.receive(ciphertext: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + piece])) }
            offset += piece
            drain(receiver, into: &received, end: &end)
        } while offset < outbox.count
        return n
    }

    private func drain(_ tls: TLSConnection, into received: inout [UInt8], end: inout TLSReadResult?) {
        guard end == nil else { return }
        while true {
            let result = readBuffer.withUnsafeMutableBytes { tls.readPlaintext(into: $0) }
            switch result {
            case .bytes(let n):
                received.append(contentsOf: readBuffer[0..<n])
                // A full buffer may leave plaintext inside OpenSSL: read again.
                if !tls.needsReadAgain { return }
            case .closed, .failed:
                end = result
                return
            }
        }
    }
}

extension TLSConnection {
    func write(_ bytes: [UInt8]) -> TLSError? { bytes.withUnsafeBytes { write(plaintext: $0) } }
    func write(_ text: String) -> TLSError? { write(Array(text.utf8)) }
}
