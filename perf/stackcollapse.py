#!/usr/bin/env python3
"""Folds `perf script` output into one line per distinct stack: "root;...;leaf COUNT".

Reads perf script's default text on stdin (a header line per sample, then one indented line per
frame, leaf first, blank line between samples) and writes folded stacks on stdout, the input of
flamegraph.py (and of Brendan Gregg's flamegraph.pl). The thread name is the root frame, so the
loop threads of a multi-loop broker show side by side. Offsets (+0x..) are dropped so samples in
one function merge; unknown symbols become [dso name].
"""
import collections
import os
import re
import sys

FRAME = re.compile(r"^\s*[0-9a-fA-F]+\s+(.*?)\s+\((.*)\)\s*$")


def fold(lines):
    counts = collections.Counter()
    comm = None
    frames = []

    def flush():
        if comm is not None:
            stack = [comm] + list(reversed(frames))
            counts[";".join(stack)] += 1

    for raw in lines:
        line = raw.rstrip("\n")
        if not line.strip():
            flush()
            comm, frames = None, []
            continue
        if not line[0].isspace():
            flush()
            # "comm  pid/tid [cpu] time: period event:" — the comm may hold spaces; the pid follows it.
            m = re.match(r"^(.*?)\s+\d+(/\d+)?\s", line)
            comm = (m.group(1) if m else line.split()[0]).strip().replace(";", ":") or "?"
            frames = []
            continue
        m = FRAME.match(line)
        if not m:
            continue
        symbol, dso = m.group(1), m.group(2)
        symbol = re.sub(r"\+0x[0-9a-fA-F]+$", "", symbol)
        if not symbol or symbol == "[unknown]":
            symbol = "[%s]" % os.path.basename(dso) if dso and dso != "unknown" else "[unknown]"
        frames.append(symbol.replace(";", ":"))
    flush()
    return counts


def main():
    counts = fold(sys.stdin)
    for stack, count in sorted(counts.items()):
        sys.stdout.write("%s %d\n" % (stack, count))


if __name__ == "__main__":
    main()
