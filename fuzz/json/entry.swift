// libFuzzer entry for the wamp.2.json scanner: every input must satisfy JSONSelfCheck (scanner,
// views, decoder and writer agree, nothing crashes or reads out of bounds under ASan). Built by
// `fuzz/run.sh json` with the folders listed in sources.txt (WireCodec and BrokerSerialization
// built as modules, the self-checks of Tests/SerializationSelfCheck beside this entry); then
// `fuzz/run.sh json 60 -max_len=8192`, or run fuzz/out/json/fuzz-json by hand.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    if let broken = JSONSelfCheck.check(bytes) {
        fatalError("JSONSelfCheck failed: \(broken)")
    }
    return 0
}
