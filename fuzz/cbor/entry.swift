// libFuzzer entry for the wamp.2.cbor scanner, views, writer and payload transcoders: every input
// must satisfy CBORSelfCheck (nothing crashes or reads out of bounds under ASan; scanner, views,
// decoder, writer and transcoders agree). Built by `fuzz/run.sh cbor` with the sources listed in
// sources.txt; by hand:
//   swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name FuzzCBOR \
//       fuzz/cbor/entry.swift Sources/WireCodec/*.swift Sources/FastBroker/Serialization/*.swift -o /tmp/fuzz-cbor
//   SWIFT_BACKTRACE=enable=no /tmp/fuzz-cbor -max_total_time=60 -max_len=8192 <copy of fuzz/cbor/corpus>

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCBOR(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    if let broken = CBORSelfCheck.check(bytes) {
        fatalError("CBORSelfCheck failed: \(broken)")
    }
    return 0
}
