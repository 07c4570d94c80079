// Helpers shared by the serialization tests: run the scanner over a byte array while it is alive,
// and the path of the repository (for the fuzz seed corpus and the fixtures).

import BrokerSerialization
import Foundation
import XCTest

/// Scans `bytes` as a WAMP message and hands the view to `body` while the bytes are alive.
func withMessage<R>(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line,
                    _ body: (WampMessageView) throws -> R) throws -> R {
    try bytes.withUnsafeBytes { buffer in
        switch JSONScanner.scanMessage(buffer) {
        case .success(let view):
            return try body(view)
        case .failure(let error):
            XCTFail("scanMessage refused \(String(decoding: bytes, as: UTF8.self)): \(error)", file: file, line: line)
            throw error
        }
    }
}

func withMessage<R>(_ text: String, file: StaticString = #filePath, line: UInt = #line,
                    _ body: (WampMessageView) throws -> R) throws -> R {
    try withMessage(Array(text.utf8), file: file, line: line, body)
}

/// The scanner's error for a message, or nil when it is accepted.
func messageError(_ bytes: [UInt8]) -> JSONScanError? {
    bytes.withUnsafeBytes { buffer in
        if case .failure(let error) = JSONScanner.scanMessage(buffer) { return error }
        return nil
    }
}

func messageError(_ text: String) -> JSONScanError? { messageError(Array(text.utf8)) }

/// The scanner's error for any JSON text (scanValue), or nil when it is accepted.
func valueError(_ bytes: [UInt8]) -> JSONScanError? {
    bytes.withUnsafeBytes { buffer in
        if case .failure(let error) = JSONScanner.scanValue(buffer) { return error }
        return nil
    }
}

func parse(_ text: String) throws -> JSONValue {
    try JSONScanner.parse(Array(text.utf8)).get()
}

let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
