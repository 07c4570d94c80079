// Wildcard subscriptions for TopicIndex: a component trie, path-compressed. An edge holds one or
// more whole pattern components (their bytes, joined by dots); an empty pattern component
// matches any one topic component. A node's children are keyed by the first component of their
// edge, with the child whose edge starts with an empty component kept apart as `wildcard`.
// Entries sit at the node where their pattern ends. A lookup follows at most two edges per
// node (the literal one for the topic's component, and the wildcard one), and each node is
// reached only along its own path, so it visits each node at most once.
//
// Compression makes a pattern cost about its own bytes where it does not share a path (one
// node, not a node and a dictionary per component). Every walk is a loop or an explicit stack
// and teardown is iterative: a pattern or topic of 300,000 components costs loop iterations,
// never stack frames (issue 9). Owned by one thread (the router's loop), like TopicIndex.

import Glibc   // memcmp: libc's vectorised byte compare, on the per-publication lookup path

final class WildcardTrie<Entry: AnyObject> {
    private final class Node {
        /// Whole components joined by dots (empty only at the root). Non-root nodes hold entries
        /// or at least two children (remove merges the rest away).
        var label: [UInt8]
        /// By the first component of the child's label, when it is not empty.
        var children: [TopicKey: Node] = [:]
        /// The child whose label starts with an empty (wildcard) component.
        var wildcard: Node?
        var entries: [Entry] = []
        init(label: [UInt8]) { self.label = label }
        var childCount: Int { children.count + (wildcard == nil ? 0 : 1) }

        /// The child whose label starts with `component` (the wildcard child for an empty one).
        func child(startingWith component: UnsafeRawBufferPointer) -> Node? {
            component.isEmpty ? wildcard : children[TopicKey(borrowing: component)]
        }

        /// Puts (or with nil, removes) the child whose label starts with `component`.
        func setChild(_ child: Node?, startingWith component: UnsafeRawBufferPointer) {
            if component.isEmpty {
                wildcard = child
            } else if let child {
                children[TopicKey(copying: component)] = child
            } else {
                children[TopicKey(borrowing: component)] = nil
            }
        }
    }

    private let root = Node(label: [])

    var isEmpty: Bool { root.childCount == 0 && root.entries.isEmpty }

    deinit {
        // ARC would release a long chain of nodes recursively; detach children level by level.
        var pending: [Node] = [root]
        while let node = pending.popLast() {
            pending.append(contentsOf: node.children.values)
            if let wildcard = node.wildcard { pending.append(wildcard) }
            node.children.removeAll()
            node.wildcard = nil
        }
    }

    func insert(_ entry: Entry, _ pattern: UnsafeRawBufferPointer) {
        let components = Self.components(pattern)
        var node = root
        var depth = 0
        while depth < components.count {
            guard let child = node.child(startingWith: components[depth]) else {
                // The rest of the pattern becomes one edge.
                let start = components[..<depth].reduce(0) { $0 + $1.count + 1 }
                let leaf = Node(label: Array(pattern[start...]))
                node.setChild(leaf, startingWith: components[depth])
                node = leaf
                depth = components.count
                break
            }
            let (common, splitOffset) = Self.commonComponents(child.label, components, from: depth)
            if let splitOffset {
                // The pattern leaves the edge after `common` components: split it there.
                let middle = Node(label: Array(child.label[..<(splitOffset - 1)]))
                child.label.removeFirst(splitOffset)
                child.label.withUnsafeBytes { middle.setChild(child, startingWith: Self.firstComponent($0)) }
                node.setChild(middle, startingWith: components[depth])
                node = middle
            } else {
                node = child
            }
            depth += common
        }
        node.entries.append(entry)
    }

    /// Removes `entry` from `pattern`'s node and restores the tree's shape bottom-up (each node
    /// dropped is a leaf when released); false when it is not there.
    func remove(_ entry: Entry, _ pattern: UnsafeRawBufferPointer) -> Bool {
        let components = Self.components(pattern)
        var path = [root]
        var node = root
        var depth = 0
        while depth < components.count {
            guard let child = node.child(startingWith: components[depth]) else { return false }
            let (common, splitOffset) = Self.commonComponents(child.label, components, from: depth)
            guard splitOffset == nil else { return false }
            path.append(child)
            node = child
            depth += common
        }
        guard let index = node.entries.firstIndex(where: { $0 === entry }) else { return false }
        node.entries.remove(at: index)
        prune(path)
        return true
    }

    /// Appends every entry whose pattern matches `topic`.
    func collect(_ topic: UnsafeRawBufferPointer, into result: inout [Entry]) {
        if isEmpty { return }
        let components = Self.components(topic)
        var pending: [(node: Node, depth: Int)] = [(root, 0)]
        while let (node, depth) = pending.popLast() {
            if depth == components.count {
                result.append(contentsOf: node.entries)
                continue
            }
            // Wildcard pushed first so the literal child is explored first.
            if let wildcard = node.wildcard, let next = Self.matchLabel(wildcard.label, components, from: depth) {
                pending.append((wildcard, next))
            }
            if let child = node.children[TopicKey(borrowing: components[depth])],
               let next = Self.matchLabel(child.label, components, from: depth) {
                pending.append((child, next))
            }
        }
    }

    /// Bottom-up along the path of a removal: drops nodes left empty and merges a node left
    /// with no entries and one child into that child (its slot in the parent keeps its key, the
    /// node's first component).
    private func prune(_ path: [Node]) {
        var depth = path.count - 1
        while depth > 0 {
            let node = path[depth]
            let parent = path[depth - 1]
            guard node.entries.isEmpty, node.childCount <= 1 else { return }
            let replacement: Node?
            if let only = node.wildcard ?? node.children.first?.value {
                only.label = node.label + [UInt8(ascii: ".")] + only.label
                node.children.removeAll()
                node.wildcard = nil
                replacement = only
            } else {
                replacement = nil
            }
            node.label.withUnsafeBytes { parent.setChild(replacement, startingWith: Self.firstComponent($0)) }
            depth -= 1
        }
    }

    // MARK: - Components

    /// The dot-separated components (empty ones included) of `bytes`, as slices of it.
    private static func components(_ bytes: UnsafeRawBufferPointer) -> [UnsafeRawBufferPointer] {
        var result: [UnsafeRawBufferPointer] = []
        var start = 0
        var i = 0
        while i <= bytes.count {
            if i == bytes.count || bytes[i] == UInt8(ascii: ".") {
                result.append(UnsafeRawBufferPointer(rebasing: bytes[start..<i]))
                start = i + 1
            }
            i += 1
        }
        return result
    }

    private static func firstComponent(_ label: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        let end = label.firstIndex(of: UInt8(ascii: ".")) ?? label.count
        return UnsafeRawBufferPointer(rebasing: label[..<end])
    }

    /// How many of the label's components equal `components[from...]` byte for byte, and where
    /// the first differing label component starts (nil when the whole label matched).
    private static func commonComponents(_ label: [UInt8], _ components: [UnsafeRawBufferPointer], from depth: Int) -> (Int, Int?) {
        label.withUnsafeBytes { label in
            var count = 0
            var start = 0
            while true {
                let end = label[start...].firstIndex(of: UInt8(ascii: ".")) ?? label.count
                guard depth + count < components.count,
                      equal(UnsafeRawBufferPointer(rebasing: label[start..<end]), components[depth + count]) else { return (count, start) }
                count += 1
                if end == label.count { return (count, nil) }
                start = end + 1
            }
        }
    }

    /// The depth after the label when the topic's components from `depth` match it (an empty
    /// label component matches any component), else nil.
    private static func matchLabel(_ label: [UInt8], _ components: [UnsafeRawBufferPointer], from depth: Int) -> Int? {
        label.withUnsafeBytes { label in
            var next = depth
            var start = 0
            while true {
                let end = label[start...].firstIndex(of: UInt8(ascii: ".")) ?? label.count
                guard next < components.count else { return nil }
                if end > start && !equal(UnsafeRawBufferPointer(rebasing: label[start..<end]), components[next]) { return nil }
                next += 1
                if end == label.count { return next }
                start = end + 1
            }
        }
    }

    @inline(__always)
    private static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
    }
}
