// Reading and atomically replacing the userdb file with plain POSIX calls, so the errors carry
// the errno text and the new file is created 0600 from the first byte (never briefly readable
// by others, as a write-then-chmod would be).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum UserDatabaseFile {
    /// A userdb this large is a mistake (or an attack); refuse rather than read it into memory.
    static let maxBytes = 16 << 20

    enum ReadResult {
        case contents([UInt8])
        case missing
    }

    /// Reads the whole file; `.missing` when it does not exist.
    static func load(_ path: String) throws(UserDatabaseError) -> ReadResult {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT { return .missing }
            throw failure(path, "cannot open", code)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure(path, "cannot stat", errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw UserDatabaseError(file: path, jsonPath: nil, reason: "not a regular file")
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure(path, "cannot read", errno)
            }
            if n == 0 { return .contents(bytes) }
            bytes += chunk[0..<n]
            guard bytes.count <= maxBytes else {
                throw UserDatabaseError(file: path, jsonPath: nil, reason: "larger than \(maxBytes) bytes")
            }
        }
    }

    /// Replaces `path` with `bytes`: write a 0600 temporary file beside it, fsync, rename over.
    /// Readers (a SIGHUP reload) see either the old or the new file, never a half-written one.
    static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws(UserDatabaseError) {
        let temporary = try writeTemporary(beside: path, bytes)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw failure(path, "cannot rename \(temporary) to it", code)
        }
        syncDirectory(of: path)
    }

    /// Creates `path` holding `bytes` (0600, complete from the first moment it is visible) unless
    /// it exists: false then, and the existing file is left alone.
    static func createExclusively(_ path: String, _ bytes: [UInt8]) throws(UserDatabaseError) -> Bool {
        let temporary = try writeTemporary(beside: path, bytes)
        defer { unlink(temporary) }
        guard link(temporary, path) == 0 else {
            let code = errno
            if code == EEXIST { return false }
            throw failure(path, "cannot create", code)
        }
        syncDirectory(of: path)
        return true
    }

    /// A 0600 file beside `path` holding `bytes`, fsynced; returns its name.
    private static func writeTemporary(beside path: String, _ bytes: [UInt8]) throws(UserDatabaseError) -> String {
        let suffix = Crypto.randomBytes(6).map { String($0, radix: 16) }.joined()
        let temporary = path + ".tmp-" + suffix
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure(temporary, "cannot create", errno) }
        var done = false
        defer { if !done { unlink(temporary) } }
        do {
            defer { close(fd) }
            // The umask can only remove bits from 0600; set it anyway in case the mode was widened.
            guard fchmod(fd, 0o600) == 0 else { throw failure(temporary, "cannot chmod", errno) }
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw failure(temporary, "cannot write", errno)
                }
                offset += n
            }
            guard fsync(fd) == 0 else { throw failure(temporary, "cannot fsync", errno) }
        }
        done = true
        return temporary
    }

    /// Makes a rename or link durable; failure here does not undo a completed replacement.
    private static func syncDirectory(of path: String) {
        let dirFD = open(directoryName(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            close(dirFD)
        }
    }

    private static func directoryName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func failure(_ path: String, _ what: String, _ code: Int32) -> UserDatabaseError {
        UserDatabaseError(file: path, jsonPath: nil, reason: "\(what): \(String(cString: strerror(code)))")
    }
}
