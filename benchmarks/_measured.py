"""Run `qgate ARGS...`; print its peak RSS (VmHWM, MB), CPU seconds (its own and its waited-for
children's: masking workers, psql) and its largest child's peak RSS on the last stderr line.

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
    # the processes it started and waited for (masking workers, psql): their CPU counts too;
    # ru_maxrss of children is the largest one's peak (kB on Linux)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime
    print(f"peak_rss_mb={peak_rss_mb():.1f} cpu_s={cpu:.2f} "
          f"child_peak_rss_mb={children.ru_maxrss / 1024:.1f}", file=sys.stderr)
    sys.exit(code)
