// The workloads of issue 3: who publishes, who subscribes with which options, and how many
// deliveries each publication must produce (the basis of exact loss counting).

enum Workload: String, CaseIterable {
    case oneToOne = "1to1"
    case fanout
    case nton
    case shared
    case filters
    case latency
    /// WAMP-CRA session set-ups per second (SetupRun): connect, HELLO, CHALLENGE, AUTHENTICATE, WELCOME, close.
    case setups

    var defaultPublishers: Int {
        switch self {
        case .nton: return 16
        default: return 1
        }
    }

    var defaultSubscribers: Int {
        switch self {
        case .oneToOne, .latency: return 1
        case .fanout, .filters: return 100
        case .nton: return 16
        case .shared: return 10
        case .setups: return 0
        }
    }

    /// Paced at --rate instead of as fast as the window allows.
    var isRatePaced: Bool { self == .latency }

    /// Deliveries one publication must produce with `subscribers` subscribers: everyone for a
    /// broadcast; one member of the shared group; one subscriber for filters, because publication
    /// number n carries kwargs {"k": n mod subscribers} and subscriber i's filter is `k = i`.
    func deliveriesPerPublication(subscribers: Int) -> Int {
        switch self {
        case .oneToOne, .fanout, .nton, .latency: return subscribers
        case .shared, .filters: return subscribers > 0 ? 1 : 0
        case .setups: return 0
        }
    }

    /// The SUBSCRIBE options (JSON object text) of subscriber `index`.
    func subscribeOptions(subscriberIndex index: Int) -> String {
        switch self {
        case .shared: return #"{"type":"shared","group":"g"}"#
        case .filters: return #"{"filter":"k = :v","filter_values":{":v":\#(index)}}"#
        default: return "{}"
        }
    }

    /// Whether publications carry kwargs {"k": n mod subscribers} for the filters.
    var publishesFilterKey: Bool { self == .filters }
}
