"""Run `qgate ARGS...`; print its peak RSS (VmHWM, MB) and CPU seconds on the last stderr line.

`wait4`'s ru_maxrss of a child also counts the parent's pages from before `exec`, so a big
benchmark process would inflate it; VmHWM belongs to the exec'd process alone.

    python benchmarks/_measured.py data generate --spec ... --db ...
"""

from __future__ import annotations

import resource
import sys

from harness.cli import main


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB (Linux /proc)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


if __name__ == "__main__":
    code = main(sys.argv[1:])
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"peak_rss_mb={peak_rss_mb():.1f} cpu_s={usage.ru_utime + usage.ru_stime:.2f}",
          file=sys.stderr)
    sys.exit(code)
