// Exactness of the workloads where each publication must reach exactly one subscriber (the shared
// group, the filters, publications spread over many topics): a bitmap of the publication numbers
// seen catches a publication delivered twice, and where the publication number says who must get
// it (the owner), an event at the wrong subscriber is caught too. Together with the exact loss
// count this proves "each event once, to the right one". Used through DeliveryLedger.

final class DeliveryCheck {
    /// One bit per publication number. Owned by the loop thread, like every field here.
    private var words: UnsafeMutablePointer<UInt64>
    private var wordCount: Int
    /// Deliveries of a publication already delivered once.
    private(set) var duplicates = 0
    /// Deliveries to a subscriber other than the publication's owner.
    private(set) var misrouted = 0
    /// Publication numbers the tool never published (a corrupted payload).
    private(set) var unknown = 0

    init() {
        wordCount = 1 << 14
        words = .allocate(capacity: wordCount)
        words.initialize(repeating: 0, count: wordCount)
    }

    deinit { words.deallocate() }

    /// One delivery of `publication` to subscriber `index`; `published` is how many publications
    /// exist so far; `owner` the subscriber that must receive it, nil when any one may.
    @inline(__always)
    func record(publication: UInt64, published: Int, subscriberIndex index: Int, owner: Int?) {
        guard publication < UInt64(published) else {
            unknown += 1
            return
        }
        let n = Int(publication)
        if let owner, owner != index { misrouted += 1 }
        let word = n >> 6
        if word >= wordCount { grow(toCover: word) }
        let bit: UInt64 = 1 << UInt64(n & 63)
        if words[word] & bit != 0 {
            duplicates += 1
        } else {
            words[word] |= bit
        }
    }

    /// Doubling, so growth is rare (amortised; 1.25 MB covers 10 million publications).
    @inline(never)
    private func grow(toCover word: Int) {
        var newCount = wordCount * 2
        while newCount <= word { newCount *= 2 }
        let newWords = UnsafeMutablePointer<UInt64>.allocate(capacity: newCount)
        newWords.initialize(from: words, count: wordCount)
        (newWords + wordCount).initialize(repeating: 0, count: newCount - wordCount)
        words.deallocate()
        words = newWords
        wordCount = newCount
    }
}
