// Errors of the TLS layer: what failed, in our words, followed by what OpenSSL queued about it
// (its thread-local error queue is drained into the message so the next call starts clean).

import COpenSSL

public struct TLSError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }

    /// `what`, then OpenSSL's queued errors ("PEM routines: no start line"), oldest first.
    /// Drains the queue. Error path only: allocates.
    static func openSSL(_ what: String) -> TLSError {
        let details = drainErrorQueue()
        return TLSError(details.isEmpty ? what : "\(what): \(details)")
    }

    /// OpenSSL's queued errors as one line; empties the calling thread's queue.
    static func drainErrorQueue() -> String {
        var parts: [String] = []
        while true {
            var data: UnsafePointer<CChar>?
            var flags: Int32 = 0
            let code = ERR_get_error_all(nil, nil, nil, &data, &flags)
            if code == 0 { break }
            var text: String
            if let reason = ERR_reason_error_string(code) {
                text = String(cString: reason)
            } else {
                text = "error 0x" + String(code, radix: 16)
            }
            if let library = ERR_lib_error_string(code) { text = String(cString: library) + ": " + text }
            if let data, flags & ERR_TXT_STRING != 0, data.pointee != 0 { text += " (" + String(cString: data) + ")" }
            if !parts.contains(text) { parts.append(text) }
        }
        return parts.joined(separator: "; ")
    }
}
