// A value owned by one event loop that may travel through other threads but is read or written
// only on its loop (SwiftNIO's NIOLoopBound is the model). Debug builds check every access with
// EventLoop.assertInLoopThread; release builds keep neither the loop reference nor the check, so
// a LoopBound costs exactly what the bare value costs.

/// @unchecked Sendable: that is the point of the type; the one-loop rule is what makes it safe,
/// and debug builds check it on every access.
public struct LoopBound<Value>: @unchecked Sendable {
    #if DEBUG
    @usableFromInline let loop: EventLoop
    #endif
    @usableFromInline var storage: Value

    @inlinable
    public init(_ value: Value, loop: EventLoop) {
        #if DEBUG
        self.loop = loop
        #endif
        storage = value
    }

    /// The value; debug builds trap when this runs off the owning loop's thread.
    @inlinable
    public var value: Value {
        get {
            #if DEBUG
            loop.assertInLoopThread()
            #endif
            return storage
        }
        _modify {
            #if DEBUG
            loop.assertInLoopThread()
            #endif
            yield &storage
        }
    }
}
