// ConfigFilePath: how paths written in the configuration become file names (relative to the
// configuration file's directory) and how an unusable file is described to the user.

import Foundation

enum ConfigFilePath {
    /// `path` if absolute, else `base/path`; "." and ".." segments are folded so messages and
    /// logs show a clean name. Symlinks are left alone.
    static func resolve(_ path: String, against base: String) -> String {
        let joined = path.hasPrefix("/") || base.isEmpty ? path : base + "/" + path
        let isAbsolute = joined.hasPrefix("/")
        var parts: [Substring] = []
        for part in joined.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..":
                if let last = parts.last, last != ".." {
                    parts.removeLast()
                } else if !isAbsolute {
                    parts.append(part)  // a relative base cannot be climbed out of; keep it
                }  // "/.." is "/"
            default: parts.append(part)
            }
        }
        let body = parts.joined(separator: "/")
        if isAbsolute { return "/" + body }
        return body.isEmpty ? "." : body
    }

    /// The directory holding `path` ("." for a bare file name).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// Why `path` cannot be read as a file, or nil if it can.
    static func problemReading(_ path: String) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return "\(path) does not exist"
        }
        if isDirectory.boolValue { return "\(path) is a directory, not a file" }
        guard FileManager.default.isReadableFile(atPath: path) else { return "\(path) is not readable" }
        return nil
    }
}
