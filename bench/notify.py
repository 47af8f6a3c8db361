#!/usr/bin/env python3
"""bench/notify.py — latency from a write to the WebSocket notification, on loopback.

Usage: bench/notify.py BASE_URL EMAIL PASSWORD [TRIALS=50] [WRITE_URL]   (pip install websockets)

With WRITE_URL (a second server on the same PostgreSQL database), the writes go there while the
socket listens on BASE_URL: the cross-server fan-out through LISTEN/NOTIFY.

Signs in, opens /api/v1/notifications, then TRIALS times: sends POST /api/v1/folders and measures
(a) until the HTTP answer (the commit is done) and (b) until the notification arrives. Prints the
medians and p95 of (b) and of (b) - (a) — the part after the commit, an upper bound on the
commit-to-notification latency.
"""
import asyncio, json, statistics, sys, time, urllib.request, uuid

import websockets


def call(base, path, body, token=None):
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"content-type": "application/json"})
    if token:
        request.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)


async def main(base, email, password, trials, write_base=None):
    write_base = write_base or base
    token = call(base, "/api/v1/auth/login", {"email": email, "password": password})["access_token"]
    ws_url = base.replace("http://", "ws://") + "/api/v1/notifications?access_token=" + token
    loop = asyncio.get_running_loop()
    total, after_commit = [], []
    async with websockets.connect(ws_url) as socket:
        for _ in range(trials):
            t0 = time.perf_counter()
            answered = loop.run_in_executor(None, call, write_base, "/api/v1/folders",
                                            {"parent_id": "root", "name": "n-" + uuid.uuid4().hex}, token)
            message = json.loads(await socket.recv())
            t_note = time.perf_counter()
            await answered
            t_http = time.perf_counter()
            assert message["type"] == "changed"
            total.append((t_note - t0) * 1000)
            after_commit.append(max(0.0, (t_note - t0) - (t_http - t0)) * 1000)
    q = lambda xs, p: sorted(xs)[min(len(xs) - 1, int(len(xs) * p))]
    print(f"RESULT\twrite-to-notification\t{statistics.median(total):.2f}\tms median, p95 {q(total, 0.95):.2f} ms ({trials} trials)")
    print(f"RESULT\tnotification-vs-answer\t{statistics.median(after_commit):.2f}\tms median after the HTTP answer (0 = notified first), p95 {q(after_commit, 0.95):.2f} ms")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 50,
                     sys.argv[5] if len(sys.argv) > 5 else None))
