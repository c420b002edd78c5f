"""Run one command and measure it alone: wall time, CPU time, peak memory.

    python bench/measure.py RESULT.json COMMAND [ARG ...]

Forks, executes COMMAND in the child and waits for it with ``os.wait4``, which
gives that child's own resource usage (including the processes it waited for,
such as soffice under ``recalculate_to``). Writes ``seconds`` (wall, from
fork to exit), ``cpu_seconds`` (user + system), ``peak_mb`` (maximum resident
set size) and ``exit`` (the exit status, negative for a signal) to
RESULT.json, and exits with COMMAND's status.

Why a separate small process: Linux carries the resident size of the
process that forks into the child's ``ru_maxrss``, so a child of the bench
itself (which holds every plan it laid out) would report at least the
bench's size. This script is small (about 10 MB, the least any figure can
show); ``getrusage(RUSAGE_CHILDREN)`` would instead give the largest child so
far, not each one.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: python bench/measure.py RESULT.json COMMAND [ARG ...]")
        return 2
    result, command = argv[0], argv[1:]
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: become COMMAND
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    with open(result, "w", encoding="utf-8") as handle:
        json.dump(
            {
                "seconds": seconds,
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
                "peak_mb": usage.ru_maxrss / 1024,  # KiB on Linux
                "exit": code,
            },
            handle,
        )
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
