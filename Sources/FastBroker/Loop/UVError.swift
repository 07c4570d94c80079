// libuv status codes as a Swift error. libuv reports failures as negative errno-style ints;
// this is the one place that turns them into names a log reader understands.

import CUV

public struct UVError: Error, CustomStringConvertible, Equatable, Sendable {
    public let code: Int32
    public let operation: String

    public init(_ code: Int32, _ operation: String) {
        self.code = code
        self.operation = operation
    }

    public var name: String { String(cString: uv_err_name(code)) }
    public var message: String { String(cString: uv_strerror(code)) }
    public var description: String { "\(operation): \(name) (\(message))" }

    public var isEndOfFile: Bool { code == Int32(UV_EOF.rawValue) }

    /// What libuv reports for a request cancelled by closing its handle.
    public static func canceled(operation: String) -> UVError { UVError(Int32(UV_ECANCELED.rawValue), operation) }

    /// Throws when `code` is a libuv failure (negative).
    @inline(__always)
    static func check(_ code: Int32, _ operation: @autoclosure () -> String) throws(UVError) {
        if code < 0 { throw UVError(code, operation()) }
    }
}
