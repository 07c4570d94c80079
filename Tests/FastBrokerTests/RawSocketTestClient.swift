// A minimal blocking WAMP client over RawSocket/JSON for in-process broker tests: just enough to
// HELLO, SUBSCRIBE, PUBLISH and count EVENTs, with nothing from the broker's own code.

import Foundation
import Glibc

final class RawSocketTestClient: @unchecked Sendable {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw POSIXError(.ECONNREFUSED) }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        try sendAll([0x7F, 0xF1, 0x00, 0x00])
        let reply = try read(count: 4)
        guard reply[0] == 0x7F, reply[1] & 0x0F == 1 else { throw POSIXError(.EPROTO) }
    }

    deinit { close(fd) }

    func sendAll(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw POSIXError(.EPIPE) }
            offset += n
        }
    }

    func send(_ json: String) throws {
        let payload = Array(json.utf8)
        let n = payload.count
        try sendAll([0, UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + payload)
    }

    private func read(count: Int) throws -> [UInt8] {
        while buffer.count < count {
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw POSIXError(.ECONNRESET) }
            buffer.append(contentsOf: chunk[0..<n])
        }
        let out = Array(buffer[0..<count])
        buffer.removeFirst(count)
        return out
    }

    /// The next WAMP message (frame type 0), skipping pings/pongs.
    func receive() throws -> String {
        while true {
            let header = try read(count: 4)
            let length = Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
            let payload = try read(count: length)
            if header[0] & 0x07 == 0 { return String(decoding: payload, as: UTF8.self) }
        }
    }

    /// Parsed JSON array of the next message.
    func receiveArray() throws -> [Any] {
        let text = try receive()
        return try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) as! [Any]
    }

    @discardableResult
    func join(realm: String = "realm1") throws -> UInt64 {
        try send(#"[1,"\#(realm)",{"roles":{"subscriber":{},"publisher":{}}}]"#)
        let welcome = try receiveArray()
        guard (welcome[0] as? Int) == 2 else { throw POSIXError(.EACCES) }
        return (welcome[1] as! NSNumber).uint64Value
    }

    func subscribe(_ topic: String, request: Int = 1, options: String = "{}") throws -> UInt64 {
        try send(#"[32,\#(request),\#(options),"\#(topic)"]"#)
        let reply = try receiveArray()
        guard (reply[0] as? Int) == 33 else { throw POSIXError(.EINVAL) }
        return (reply[2] as! NSNumber).uint64Value
    }
}
