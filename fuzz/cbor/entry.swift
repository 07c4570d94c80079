// libFuzzer entry for the wamp.2.cbor scanner, views, writer and payload transcoders: every input
// must satisfy CBORSelfCheck (nothing crashes or reads out of bounds under ASan; scanner, views,
// decoder, writer and transcoders agree). Built by `fuzz/run.sh cbor` with the folders listed in
// sources.txt (WireCodec and BrokerSerialization built as modules, the self-checks of
// Tests/SerializationSelfCheck beside this entry); then `fuzz/run.sh cbor 60 -max_len=8192`, or run
// fuzz/out/cbor/fuzz-cbor by hand.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCBOR(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    if let broken = CBORSelfCheck.check(bytes) {
        fatalError("CBORSelfCheck failed: \(broken)")
    }
    return 0
}
