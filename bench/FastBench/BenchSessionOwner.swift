// What a BenchConnection reports to the run that owns it: BenchRun (the throughput and latency
// workloads) or SoakRun (`fastbench soak`). Called on the tool's one loop thread.

protocol BenchSessionOwner: AnyObject {
    /// WELCOME arrived.
    func sessionReady(_ connection: BenchConnection)
    /// SUBSCRIBED arrived.
    func subscribed(_ connection: BenchConnection)
    func subscribeRefused(_ connection: BenchConnection, uri: String, details: String)
    /// ERROR for the PUBLISH with request id `request`.
    func publishRefused(_ connection: BenchConnection, request: UInt64, uri: String, details: String)
    /// The connection failed or was closed by the broker (ABORT, GOODBYE, EOF); `reason` says which.
    func connectionFailed(_ connection: BenchConnection, _ reason: String)
    /// A compact EVENT with the tool's [timestamp, publication, padding] argument arrived.
    func eventArrived(_ stamp: EventStamp, at subscriber: BenchConnection, now: UInt64)
}
