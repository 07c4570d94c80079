// The topic URIs of a run, as UTF-8 written into every PUBLISH without allocating: one topic
// (--topics 1), or TOPIC.t for publication n's topic t = n mod topics, written into a reused
// buffer behind the fixed prefix.

final class TopicNames {
    let topics: Int
    /// The publication URI (one topic) or the prefix `TOPIC.` (many). Owned by the loop thread.
    private let buffer: UnsafeMutableRawPointer
    private let prefixCount: Int

    init(base: String, topics: Int) {
        self.topics = topics
        let prefix = Array((topics == 1 ? base : base + ".").utf8)
        prefixCount = prefix.count
        buffer = .allocate(byteCount: prefix.count + 20, alignment: 1)
        buffer.copyMemory(from: prefix, byteCount: prefix.count)
    }

    deinit { buffer.deallocate() }

    /// The subscription URI of topic t (set-up only).
    static func uri(base: String, topic t: Int, topics: Int) -> String { topics == 1 ? base : "\(base).\(t)" }

    /// The UTF-8 URI of topic t, valid until the next call.
    @inline(__always)
    func bytes(ofTopic t: Int) -> UnsafeRawBufferPointer {
        guard topics > 1 else { return UnsafeRawBufferPointer(start: buffer, count: prefixCount) }
        var writer = MessageWriter(base: buffer + prefixCount, capacity: 20)
        writer.append(decimal: UInt64(t))
        return UnsafeRawBufferPointer(start: buffer, count: prefixCount + writer.count)
    }
}
