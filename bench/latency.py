#!/usr/bin/env python3
"""bench/latency.py — time from a small file written in folder A to the complete file in folder B.

Usage: bench/latency.py A B [TRIALS=50] [TIMEOUT_S=30] [PAUSE_S=0.2]

Whatever keeps A and B in sync (satchel sync, Syncthing) must already be running. Each trial writes
2 KiB of random bytes to A/fileN.bin and polls B/fileN.bin every millisecond until its content is
the same. Prints "MEDIAN P95 MIN MAX" in milliseconds.
"""
import os, statistics, sys, time

a, b = sys.argv[1], sys.argv[2]
trials = int(sys.argv[3]) if len(sys.argv) > 3 else 50
timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 30
pause = float(sys.argv[5]) if len(sys.argv) > 5 else 0.2
times = []
for i in range(trials):
    body = os.urandom(2048)
    start = time.perf_counter()
    with open(os.path.join(a, f"file{i}.bin"), "wb") as f:
        f.write(body)
    target = os.path.join(b, f"file{i}.bin")
    while True:
        try:
            with open(target, "rb") as f:
                if f.read() == body:
                    break
        except FileNotFoundError:
            pass
        if time.perf_counter() - start > timeout:
            sys.exit(f"trial {i}: the file did not arrive in {timeout:.0f} s")
        time.sleep(0.001)
    times.append((time.perf_counter() - start) * 1000)
    time.sleep(pause)
times.sort()
p95 = times[max(0, int(len(times) * 0.95) - 1)]
print(f"{statistics.median(times):.0f} {p95:.0f} {times[0]:.0f} {times[-1]:.0f}")
