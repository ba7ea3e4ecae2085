"""Run a command and print its wall time, peak RSS and exit code as JSON.

Linux keeps the largest RSS a process ever had across fork and exec, so a child forked from
the benchmark (which holds pandas, DuckDB and Polars) would report the benchmark's own size.
This small process forks the measured command instead, so its peak is the command's own.
"""

import json
import os
import subprocess
import sys
import time

if __name__ == "__main__":
    started = time.perf_counter()
    child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = child.stderr.read() if child.stderr else b""
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    result = {
        "seconds": seconds,
        "peak_kib": usage.ru_maxrss,
        "exit_code": os.waitstatus_to_exitcode(status),
        "stderr": stderr.decode(errors="replace")[-2000:],
    }
    sys.stdout.write(json.dumps(result))
