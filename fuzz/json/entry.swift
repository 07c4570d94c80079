// libFuzzer entry for the wamp.2.json scanner: every input must satisfy JSONSelfCheck (scanner, views,
// decoder and writer agree, nothing crashes or reads out of bounds under ASan). Built by
// `fuzz/run.sh json` with the sources listed in sources.txt.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    if let broken = JSONSelfCheck.check(bytes) {
        fatalError("JSONSelfCheck failed: \(broken)")
    }
    return 0
}
