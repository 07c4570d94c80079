// fastbench: the bundled WAMP load tool (issue 3). One libuv loop runs every session of a run;
// it prints one summary line and, with --json, writes the result for bench/compare.sh.
// `fastbench soak …` runs issue 10's soak load instead (SoakRun, for bench/soak.sh); `--workload
// setups` measures session set-ups per second (SetupRun).
// Exit status: 0 for a completed or "unsupported" run, 1 for a failed run, 2 for bad usage.

import BrokerLoop
import Glibc

// A broker that drops the connection must not kill the tool with SIGPIPE.
ProcessSignal.ignoreBrokenPipe()

if CommandLine.arguments.dropFirst().first == "soak" {
    exit(runSoak(Array(CommandLine.arguments.dropFirst(2))))
}

let options: BenchOptions
switch BenchOptions.parse(Array(CommandLine.arguments.dropFirst())) {
case .success(let parsed): options = parsed
case .failure(let error):
    print(error.description)
    exit(CommandLine.arguments.contains("--help") || CommandLine.arguments.contains("-h") ? 0 : 2)
}

let loop: EventLoop
do {
    loop = try EventLoop()
} catch {
    print("fastbench: cannot create the event loop: \(error)")
    exit(1)
}
/// Writes the --json file, if asked for; false when it cannot.
func writeJSON(_ text: String) -> Bool {
    guard let path = options.jsonPath else { return true }
    guard let file = fopen(path, "w") else {
        print("fastbench: cannot write \(path)")
        return false
    }
    fputs(text, file)
    fclose(file)
    return true
}

if options.workload == .setups {
    let setups = SetupRun(options: options, loop: loop)
    setups.start()
    loop.run()
    loop.close()
    let report = setups.report
    print(report.summary)
    exit(writeJSON(report.json) && report.ok ? 0 : 1)
}

let run = BenchRun(options: options, loop: loop)
run.start()
loop.run()
loop.close()

let result = BenchResult(run: run)
print(result.summary)
guard writeJSON(result.json) else { exit(1) }
exit(result.status == "error" ? 1 : 0)
