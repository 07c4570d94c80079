// libFuzzer entry for the wamp.2.json scanner: every input must satisfy JSONSelfCheck (scanner, views,
// decoder and writer agree, nothing crashes or reads out of bounds under ASan). Built by
// `fuzz/run.sh json` with the sources listed in sources.txt; by hand:
//   swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name FuzzJSON \
//       fuzz/json/entry.swift Sources/FastBroker/Serialization/*.swift -o /tmp/fuzz-json
//   SWIFT_BACKTRACE=enable=no /tmp/fuzz-json -max_total_time=60 -max_len=8192 <copy of fuzz/json/corpus>

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    if let broken = JSONSelfCheck.check(bytes) {
        fatalError("JSONSelfCheck failed: \(broken)")
    }
    return 0
}
