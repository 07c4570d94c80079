# The broker process's memory as the kernel sees it (/proc/<pid>/status), for tests that check
# memory is given back. RSS is noisy (the allocator keeps freed pages until its decay time,
# Allocator.returnFreedPagesPromptly), so tests bound it loosely next to the broker's own gauges.

import os

# Under AddressSanitizer (scripts/test.sh's asan stage sets ASAN_OPTIONS) freed memory sits in
# ASan's quarantine and its allocator, not jemalloc, holds the pages: RSS says nothing about the
# broker's own buffers there, so only the gauges are checked.
RSS_MEANINGFUL = "ASAN_OPTIONS" not in os.environ


def _status_bytes(broker, field):
    with open(f"/proc/{broker.proc.pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc status")


def rss_bytes(broker):
    return _status_bytes(broker, "VmRSS")


def peak_rss_bytes(broker):
    return _status_bytes(broker, "VmHWM")
