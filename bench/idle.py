#!/usr/bin/env python3
"""bench/idle.py — what idle notification sockets cost the server.

Usage: bench/idle.py BASE_URL EMAIL PASSWORD SERVER_PID [CONNECTIONS=2000] [SECONDS=30]
(pip install websockets; raise `ulimit -n` for the server and this script first)

Opens CONNECTIONS WebSockets to /api/v1/notifications, holds them idle for SECONDS, and prints the
server's RSS before and with them open (per connection), the server CPU used while they sat idle,
and whether every one of them still hears a change made at the end.
"""
import asyncio, resource, sys, time

import websockets

from notify import call  # bench/notify.py: one JSON POST to the API


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0


async def main(base, email, password, pid, count, seconds):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    token = call(base, "/api/v1/auth/login", {"email": email, "password": password})["access_token"]
    ws_url = base.replace("http", "ws", 1) + "/api/v1/notifications?access_token=" + token
    before = rss_kib(pid)
    sockets = []
    for i in range(0, count, 100):
        batch = await asyncio.gather(*(websockets.connect(ws_url, ping_interval=None)
                                       for _ in range(min(100, count - i))))
        sockets.extend(batch)
    await asyncio.sleep(2)
    held = rss_kib(pid)
    cpu0 = cpu_seconds(pid)
    await asyncio.sleep(seconds)
    idle_cpu = cpu_seconds(pid) - cpu0
    call(base, "/api/v1/folders", {"parent_id": "root", "name": f"wake-{time.time()}"}, token)

    async def heard(ws):
        try:
            return "changed" in await asyncio.wait_for(ws.recv(), 10)
        except Exception:
            return False

    woke = sum(await asyncio.gather(*(heard(ws) for ws in sockets)))
    print(f"connections {count}: server RSS {before / 1024:.1f} MiB -> {held / 1024:.1f} MiB "
          f"({(held - before) / count:.1f} KiB per connection); server CPU while idle {seconds} s: "
          f"{idle_cpu:.2f} s; {woke}/{count} heard the next change")
    await asyncio.gather(*(ws.close() for ws in sockets))


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(main(args[0], args[1], args[2], int(args[3]),
                     int(args[4]) if len(args) > 4 else 2000, int(args[5]) if len(args) > 5 else 30))
