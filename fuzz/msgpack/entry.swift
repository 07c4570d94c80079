// libFuzzer entry for the wamp.2.msgpack scanner, views, writer and payload transcoder: every input
// must satisfy MessagePackSelfCheck (nothing crashes or reads out of bounds under ASan; scanner,
// views, decoder, writer and transcoder agree). Built by `fuzz/run.sh msgpack` with the sources listed
// in sources.txt; by hand:
//   swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name FuzzMsgpack \
//       fuzz/msgpack/entry.swift Sources/FastBroker/Serialization/*.swift -o /tmp/fuzz-msgpack
//   SWIFT_BACKTRACE=enable=no /tmp/fuzz-msgpack -max_total_time=60 -max_len=8192 <copy of fuzz/msgpack/corpus>

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMessagePack(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    if let broken = MessagePackSelfCheck.check(bytes) {
        fatalError("MessagePackSelfCheck failed: \(broken)")
    }
    return 0
}
