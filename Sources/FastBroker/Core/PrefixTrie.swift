// Prefix subscriptions for TopicIndex: a radix tree (path-compressed byte trie). WAMP prefix
// matching is by string prefix, so walking a topic's bytes from the root passes every node whose
// pattern is a prefix of it. Each edge holds a run of bytes, so a pattern costs one node and its
// bytes, not a node and a dictionary per byte (issue 9: 300 KB patterns).
//
// Every walk is a loop and teardown is iterative: nothing here recurses on input size, so no
// pattern can overflow the stack. Owned by one thread (the router's loop), like TopicIndex.

import Glibc   // memcmp: libc's vectorised byte compare, on the per-publication lookup path

final class PrefixTrie<Entry: AnyObject> {
    private final class Node {
        /// The bytes on the edge from the parent (empty only at the root). Non-root nodes hold
        /// entries or at least two children (remove merges the rest away).
        var label: [UInt8]
        /// By the first byte of the child's label.
        var children: [UInt8: Node] = [:]
        var entries: [Entry] = []
        init(label: [UInt8]) { self.label = label }
    }

    private let root = Node(label: [])

    var isEmpty: Bool { root.children.isEmpty && root.entries.isEmpty }

    deinit {
        // ARC would release a long chain of nodes recursively; detach children level by level.
        var pending = Array(root.children.values)
        root.children.removeAll()
        while let node = pending.popLast() {
            pending.append(contentsOf: node.children.values)
            node.children.removeAll()
        }
    }

    func insert(_ entry: Entry, _ pattern: UnsafeRawBufferPointer) {
        var node = root
        var i = 0
        while i < pattern.count {
            guard let child = node.children[pattern[i]] else {
                let leaf = Node(label: Array(pattern[i...]))
                node.children[pattern[i]] = leaf
                node = leaf
                break
            }
            let common = Self.commonPrefixLength(child.label, pattern, from: i)
            if common < child.label.count {
                // The pattern leaves the edge midway: split it at that byte.
                let middle = Node(label: Array(child.label[..<common]))
                child.label.removeFirst(common)
                middle.children[child.label[0]] = child
                node.children[pattern[i]] = middle
                node = middle
            } else {
                node = child
            }
            i += common
        }
        node.entries.append(entry)
    }

    /// Removes `entry` from `pattern`'s node; false when it is not there.
    func remove(_ entry: Entry, _ pattern: UnsafeRawBufferPointer) -> Bool {
        var path = [root]
        var node = root
        var i = 0
        while i < pattern.count {
            guard let child = node.children[pattern[i]], Self.labelMatches(child.label, pattern, at: i) else { return false }
            path.append(child)
            node = child
            i += child.label.count
        }
        guard let index = node.entries.firstIndex(where: { $0 === entry }) else { return false }
        node.entries.remove(at: index)
        prune(path)
        return true
    }

    /// Appends every entry whose pattern is a prefix of `topic` (shortest pattern first).
    func collect(_ topic: UnsafeRawBufferPointer, into result: inout [Entry]) {
        var node = root
        result.append(contentsOf: root.entries)
        var i = 0
        while i < topic.count, let child = node.children[topic[i]], Self.labelMatches(child.label, topic, at: i) {
            result.append(contentsOf: child.entries)
            node = child
            i += child.label.count
        }
    }

    /// Bottom-up along the path of a removal: drops nodes left empty and merges a node left
    /// with no entries and one child into that child, so the tree stays as small as its patterns.
    private func prune(_ path: [Node]) {
        var depth = path.count - 1
        while depth > 0 {
            let node = path[depth]
            let parent = path[depth - 1]
            guard node.entries.isEmpty, node.children.count <= 1 else { return }
            if let only = node.children.first?.value {
                only.label = node.label + only.label
                node.children.removeAll()
                parent.children[node.label[0]] = only
            } else {
                parent.children[node.label[0]] = nil
            }
            depth -= 1
        }
    }

    /// How many bytes of `label` equal `bytes[start...]`.
    private static func commonPrefixLength(_ label: [UInt8], _ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        let limit = min(label.count, bytes.count - start)
        var n = 0
        while n < limit && label[n] == bytes[start + n] { n += 1 }
        return n
    }

    /// Whether `bytes` continues at `start` with all of `label`.
    @inline(__always)
    private static func labelMatches(_ label: [UInt8], _ bytes: UnsafeRawBufferPointer, at start: Int) -> Bool {
        guard label.count <= bytes.count - start else { return false }
        return label.withUnsafeBytes { memcmp($0.baseAddress!, bytes.baseAddress! + start, label.count) == 0 }
    }
}
