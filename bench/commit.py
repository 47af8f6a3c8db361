#!/usr/bin/env python3
"""bench/commit.py — the cost of committing a chunked upload of many chunks (no bytes are copied).

Usage: bench/commit.py BASE_URL EMAIL PASSWORD [CHUNKS=10000]

Uploads a file of CHUNKS small chunks through the chunked API, then times: the commit of that
session, a second session for the same content (nothing missing — proof of possession) and its
commit. A 10 GiB file in 1 MiB chunks has about 10,000 chunks; commit work is per chunk, not per byte.
"""
import hashlib, json, os, sys, time, urllib.request
from concurrent.futures import ThreadPoolExecutor


def call(base, method, path, body=None, token=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(base + path, data=data, method=method)
    if body is not None:
        request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(request) as answer:
        text = answer.read()
        return json.loads(text) if text else None


def main(base, email, password, count):
    token = call(base, "POST", "/api/v1/auth/login", {"email": email, "password": password})["access_token"]
    chunks = [os.urandom(64) for _ in range(count)]
    whole = hashlib.sha256(b"".join(chunks)).hexdigest()
    specs = [{"sha256": hashlib.sha256(c).hexdigest(), "size": len(c)} for c in chunks]
    init = lambda name: call(base, "POST", "/api/v1/uploads", {"parent_id": "root", "name": name,
        "size": 64 * count, "sha256": whole, "chunks": specs}, token)
    first = init("many-chunks.bin")
    upload = first["upload_id"]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: call(base, "PUT", f"/api/v1/uploads/{upload}/chunks/{i}", token=token, raw=chunks[i]), first["missing"]))
    t0 = time.perf_counter(); call(base, "POST", f"/api/v1/uploads/{upload}/commit", {}, token); t1 = time.perf_counter()
    print(f"RESULT\tcommit-{count}-chunks\t{(t1 - t0) * 1000:.0f}\tms (first upload of the content)")
    t0 = time.perf_counter(); second = init("again.bin"); t1 = time.perf_counter()
    assert second["missing"] == [], "everything is owned already"
    call(base, "POST", f"/api/v1/uploads/{second['upload_id']}/commit", {}, token); t2 = time.perf_counter()
    print(f"RESULT\tinit-{count}-owned\t{(t1 - t0) * 1000:.0f}\tms (nothing missing)")
    print(f"RESULT\tcommit-{count}-again\t{(t2 - t1) * 1000:.0f}\tms")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 10000)
