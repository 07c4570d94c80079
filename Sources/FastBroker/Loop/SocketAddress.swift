// Socket address parsing and printing for listeners and logs (IPv4/IPv6 literals, "localhost").

import CUV
import Glibc

enum SocketAddress {
    static func resolve(host: String, port: Int) throws(UVError) -> sockaddr_storage {
        var storage = sockaddr_storage()
        let literal = host == "localhost" ? "127.0.0.1" : host
        let rc4 = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { uv_ip4_addr(literal, Int32(port), $0) }
        }
        if rc4 == 0 { return storage }
        let rc6 = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { uv_ip6_addr(literal, Int32(port), $0) }
        }
        if rc6 == 0 { return storage }
        throw UVError(rc6, "host \"\(host)\" is not an IPv4/IPv6 address")
    }

    static func describe(_ storage: UnsafeMutablePointer<sockaddr_storage>) -> String {
        var text = [CChar](repeating: 0, count: 64)
        if Int32(storage.pointee.ss_family) == AF_INET6 {
            storage.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { _ = uv_ip6_name($0, &text, text.count) }
            return "[\(cText(text))]:\(port(storage))"
        }
        storage.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { _ = uv_ip4_name($0, &text, text.count) }
        return "\(cText(text)):\(port(storage))"
    }

    private static func cText(_ text: [CChar]) -> String {
        String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func port(_ storage: UnsafeMutablePointer<sockaddr_storage>) -> Int {
        if Int32(storage.pointee.ss_family) == AF_INET6 {
            return storage.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
        }
        return storage.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
    }
}
