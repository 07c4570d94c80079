// fastbench: the bundled WAMP load tool (issue 3). One libuv loop runs every session of a run;
// it prints one summary line and, with --json, writes the result for bench/compare.sh.
// `fastbench soak …` runs issue 10's soak load instead (SoakRun, for bench/soak.sh).
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
let run = BenchRun(options: options, loop: loop)
run.start()
loop.run()
loop.close()

let result = BenchResult(run: run)
print(result.summary)
if let path = options.jsonPath {
    guard let file = fopen(path, "w") else {
        print("fastbench: cannot write \(path)")
        exit(1)
    }
    fputs(result.json, file)
    fclose(file)
}
exit(result.status == "error" ? 1 : 0)
