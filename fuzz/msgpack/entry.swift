// libFuzzer entry for the wamp.2.msgpack scanner, views, writer and payload transcoder: every input
// must satisfy MessagePackSelfCheck (nothing crashes or reads out of bounds under ASan; scanner,
// views, decoder, writer and transcoder agree). Built by `fuzz/run.sh msgpack` with the folders
// listed in sources.txt (WireCodec and BrokerSerialization built as modules, the self-checks of
// Tests/SerializationSelfCheck beside this entry); then `fuzz/run.sh msgpack 60 -max_len=8192`, or
// run fuzz/out/msgpack/fuzz-msgpack by hand.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMessagePack(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    if let broken = MessagePackSelfCheck.check(bytes) {
        fatalError("MessagePackSelfCheck failed: \(broken)")
    }
    return 0
}
