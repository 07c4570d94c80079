// Wildcard subscriptions for TopicIndex: a component trie with a "wildcard" child per node (an
// empty pattern component matches any one component); entries sit at the node of their last
// component. A lookup visits each trie node at most once (a node is reached only along its own
// path), so its cost is bounded by the topic's components and the trie's size.
//
// Every walk uses an explicit stack or path and teardown is iterative: a pattern or topic of
// 300,000 components costs loop iterations, never stack frames (issue 9). Owned by one thread
// (the router's loop), like TopicIndex.

final class WildcardTrie<Entry: AnyObject> {
    private final class Node {
        var children: [TopicKey: Node] = [:]
        var wildcard: Node?
        var entries: [Entry] = []
        var isEmpty: Bool { children.isEmpty && wildcard == nil && entries.isEmpty }
    }

    private let root = Node()

    var isEmpty: Bool { root.isEmpty }

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
        var node = root
        Self.forEachComponent(pattern) { component in
            if component.isEmpty {
                node = node.wildcard ?? { let n = Node(); node.wildcard = n; return n }()
            } else {
                node = node.children[TopicKey(borrowing: component)]
                    ?? { let n = Node(); node.children[TopicKey(copying: component)] = n; return n }()
            }
        }
        node.entries.append(entry)
    }

    /// Removes `entry` from `pattern`'s node and prunes the nodes left empty, from the bottom up
    /// (each one is a leaf when released); false when it is not there.
    func remove(_ entry: Entry, _ pattern: UnsafeRawBufferPointer) -> Bool {
        var path: [(parent: Node, component: UnsafeRawBufferPointer)] = []
        var node: Node? = root
        Self.forEachComponent(pattern) { component in
            guard let parent = node else { return }
            node = component.isEmpty ? parent.wildcard : parent.children[TopicKey(borrowing: component)]
            path.append((parent, component))
        }
        guard var child = node, let index = child.entries.firstIndex(where: { $0 === entry }) else { return false }
        child.entries.remove(at: index)
        while child.isEmpty, let (parent, component) = path.popLast() {
            if component.isEmpty { parent.wildcard = nil } else { parent.children[TopicKey(borrowing: component)] = nil }
            child = parent
        }
        return true
    }

    /// Appends every entry whose pattern matches `topic`.
    func collect(_ topic: UnsafeRawBufferPointer, into result: inout [Entry]) {
        if root.isEmpty { return }
        var components: [UnsafeRawBufferPointer] = []
        Self.forEachComponent(topic) { components.append($0) }
        var pending: [(node: Node, depth: Int)] = [(root, 0)]
        while let (node, depth) = pending.popLast() {
            if depth == components.count {
                result.append(contentsOf: node.entries)
                continue
            }
            // Wildcard pushed first so the literal child is explored first.
            if let wildcard = node.wildcard { pending.append((wildcard, depth + 1)) }
            if let child = node.children[TopicKey(borrowing: components[depth])] { pending.append((child, depth + 1)) }
        }
    }

    /// Calls `body` with each dot-separated component (empty ones included) of `bytes`.
    static func forEachComponent(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        var start = 0
        var i = 0
        while i <= bytes.count {
            if i == bytes.count || bytes[i] == UInt8(ascii: ".") {
                body(UnsafeRawBufferPointer(rebasing: bytes[start..<i]))
                start = i + 1
            }
            i += 1
        }
    }
}
