#!/usr/bin/env python3
"""bench/shares.py — what shared folders cost a member's requests, and how fast a member hears of
the owner's changes. Starts its own server (SQLite + local disk), on loopback.

Usage: bench/shares.py [SATCHEL_BIN=target/release/satchel] [MOUNTS=20] [TRIALS=300]
       (pip install websockets). MOUNTS=0 measures only the member without shares, which also
       runs against a build from before shares existed (the per-request cost of the model).

For a member with no shares and then with MOUNTS folders shared with them (from MOUNTS owners, 50
files each), the median and p95 of:
  node     GET /api/v1/nodes/root — authentication plus loading the actor's namespaces
  root     GET /api/v1/folders/root/children — the member's root, mounts merged in
  changes  GET /api/v1/changes?cursor=<latest> — the merge over every namespace, nothing new
and, with the folders shared, the owner's write → member's WebSocket notification latency.
"""
import asyncio, json, os, shutil, statistics, subprocess, sys, tempfile, time, urllib.request, uuid

import websockets

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/satchel"
MOUNTS = int(sys.argv[2]) if len(sys.argv) > 2 else 20
TRIALS = int(sys.argv[3]) if len(sys.argv) > 3 else 300
PORT = int(os.environ.get("PORT", "18093"))
BASE = f"http://127.0.0.1:{PORT}"
PASSWORD = "bench password"


def call(method, path, body=None, token=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(BASE + path, data=data, method=method)
    if body is not None:
        request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(request) as answer:
        text = answer.read()
        return json.loads(text) if text else None


def account(email):
    call("POST", "/api/v1/auth/register", {"email": email, "password": PASSWORD})
    return call("POST", "/api/v1/auth/login", {"email": email, "password": PASSWORD})["access_token"]


def timed(path, token):
    samples = []
    for _ in range(TRIALS):
        t0 = time.perf_counter()
        call("GET", path, token=token)
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def report(name, samples, label):
    q95 = sorted(samples)[int(len(samples) * 0.95)]
    print(f"RESULT\t{name}-{label}\t{statistics.median(samples):.2f}\tms median, p95 {q95:.2f} ms ({len(samples)} requests)")


def measure(token, label):
    cursor = call("GET", "/api/v1/changes/latest", token=token)["cursor"]
    report("node", timed("/api/v1/nodes/root", token), label)
    report("root", timed("/api/v1/folders/root/children", token), label)
    report("changes", timed(f"/api/v1/changes?cursor={cursor}", token), label)


async def notify_latency(owner, folder, member):
    ws_url = BASE.replace("http://", "ws://") + "/api/v1/notifications?access_token=" + member
    loop = asyncio.get_running_loop()
    samples = []
    async with websockets.connect(ws_url) as socket:
        for _ in range(50):
            t0 = time.perf_counter()
            answered = loop.run_in_executor(None, lambda: call(
                "PUT", f"/api/v1/files/content?parent_id={folder}&name=n-{uuid.uuid4().hex}",
                token=owner, raw=b"x"))
            message = json.loads(await socket.recv())
            samples.append((time.perf_counter() - t0) * 1000)
            await answered
            assert message["type"] == "changed"
    report("owner-write-to-member-notification", samples, f"{MOUNTS}-mounts")


def main():
    work = tempfile.mkdtemp(prefix="satchel-sharebench.")
    server = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{PORT}", "--data", f"{work}/data"],
                              stderr=open(f"{work}/server.log", "w"))
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(BASE + "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        member = account("member@example.org")
        for i in range(5):
            call("POST", "/api/v1/folders", {"parent_id": "root", "name": f"own-{i}"}, member)
        measure(member, "0-mounts")
        if MOUNTS == 0:
            return  # (also runs against a build from before shares existed)
        last = None
        for i in range(MOUNTS):
            owner = account(f"owner{i}@example.org")
            folder = call("POST", "/api/v1/folders", {"parent_id": "root", "name": f"Project {i}"}, owner)["id"]
            for n in range(50):
                call("PUT", f"/api/v1/files/content?parent_id={folder}&name=f{n}.txt", token=owner, raw=b"hello")
            call("POST", "/api/v1/shares", {"node_id": folder, "email": "member@example.org",
                                             "permission": "edit"}, owner)
            last = (owner, folder)
        measure(member, f"{MOUNTS}-mounts")
        asyncio.run(notify_latency(last[0], last[1], member))
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
