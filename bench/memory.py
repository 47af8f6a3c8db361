#!/usr/bin/env python3
"""bench/memory.py — the server's peak memory (VmHWM) under concurrent transfers, for one or more
builds side by side.

Usage: bench/memory.py [--rounds N] [--budget-mib M] LABEL=BINARY[,ENV=VALUE...] ...
  e.g. bench/memory.py main=/tmp/satchel-main perf=target/release/satchel
       bench/memory.py perf=target/release/satchel perf-arenas2=target/release/satchel,MALLOC_ARENA_MAX=2

Workloads, each on a fresh server (SQLite, local disk) whose peak RSS is read from
/proc/PID/status (VmHWM) when it ends; the builds alternate within each round and the medians of
the rounds are printed:
  uploads-then-stream  80 concurrent uploads of 8 MiB (half with Content-Length, half streamed
                       with chunked transfer encoding), then one 512 MiB upload streamed and
                       downloaded. Target < 150 MiB.
  clients-200          200 concurrent clients for SECONDS (30): each loops over a mix of small
                       uploads (4 KiB), 1 MiB uploads, downloads of a 24 MiB file, downloads of its
                       own small files and folder listings. Target < 200 MiB.
Every upload's bytes are random (no deduplication) and every download is checked for length.
"""
import http.client, json, os, random, shutil, socket, statistics, subprocess, sys, tempfile
import threading, time

MIB = 1024 * 1024
SECONDS = int(os.environ.get("SECONDS_200", "30"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, env, extra_args):
        self.dir = tempfile.mkdtemp(prefix="satchel-mem.")
        self.port = free_port()
        full_env = dict(os.environ, **env)
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", f"127.0.0.1:{self.port}", "--data", self.dir + "/data"]
            + extra_args, env=full_env, stdout=self.log, stderr=self.log)
        for _ in range(200):
            try:
                self.call("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.05)
        self.call("POST", "/api/v1/auth/register", {"email": "m@example.org", "password": "memory bench"})
        self.token = self.call("POST", "/api/v1/auth/login",
                               {"email": "m@example.org", "password": "memory bench"})["access_token"]

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)

    def call(self, method, path, body=None, token=None, conn=None):
        c = conn or self.conn()
        headers = {"content-type": "application/json"} if body is not None else {}
        if token:
            headers["authorization"] = "Bearer " + token
        c.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        r = c.getresponse()
        data = r.read()
        if conn is None:
            c.close()
        if r.status >= 400:
            raise RuntimeError(f"{method} {path}: {r.status} {data[:200]!r}")
        if path == "/healthz":
            return data
        return json.loads(data) if data else None

    def put(self, conn, parent, name, body, chunked=False):
        headers = {"authorization": "Bearer " + self.token, "content-type": "application/octet-stream"}
        path = f"/api/v1/files/content?parent_id={parent}&name={name}"
        if chunked:
            conn.request("PUT", path, body=body, headers=headers, encode_chunked=True)
        else:
            conn.request("PUT", path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        if r.status not in (200, 201):
            raise RuntimeError(f"PUT {name}: {r.status} {data[:200]!r}")
        return json.loads(data)

    def get(self, conn, path, expect_len):
        conn.request("GET", path, headers={"authorization": "Bearer " + self.token})
        r = conn.getresponse()
        total = 0
        while True:
            block = r.read(1 << 20)
            if not block:
                break
            total += len(block)
        if r.status != 200 or total != expect_len:
            raise RuntimeError(f"GET {path}: {r.status}, {total} of {expect_len} bytes")

    def peak_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def pieces(total, size=1 << 20):
    left = total
    while left:
        n = min(size, left)
        yield os.urandom(n)
        left -= n


def run_threads(count, target):
    errors = []

    def wrap(i):
        try:
            target(i)
        except Exception as e:  # noqa: BLE001 — reported below
            errors.append(e)

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def uploads_then_stream(server):
    bodies = [os.urandom(8 * MIB) for _ in range(80)]
    start = threading.Barrier(80)

    def upload(i):
        c = server.conn()
        start.wait()
        if i % 2:
            server.put(c, "root", f"c{i}.bin", iter([bodies[i][j:j + MIB] for j in range(0, 8 * MIB, MIB)]), True)
        else:
            server.put(c, "root", f"c{i}.bin", bodies[i])
        c.close()

    run_threads(80, upload)
    del bodies
    c = server.conn()
    node = server.put(c, "root", "stream.bin", pieces(512 * MIB), True)
    server.get(c, f"/api/v1/files/{node['id']}/content", 512 * MIB)
    c.close()


def clients_200(server):
    c = server.conn()
    big = server.put(c, "root", "big.bin", os.urandom(24 * MIB))
    c.close()
    deadline = time.time() + SECONDS
    start = threading.Barrier(200)

    def client(i):
        rnd = random.Random(i)
        c = server.conn()
        folder = server.call("POST", "/api/v1/folders", {"parent_id": "root", "name": f"c{i}"},
                             server.token, conn=c)["id"]
        mine = []
        n = 0
        start.wait()
        while time.time() < deadline:
            n += 1
            roll = rnd.random()
            if roll < 0.35:
                node = server.put(c, folder, f"s{n}", os.urandom(4096))
                mine.append(node["id"])
            elif roll < 0.50:
                server.put(c, folder, f"m{n}", os.urandom(MIB), chunked=rnd.random() < 0.5)
            elif roll < 0.65:
                server.get(c, f"/api/v1/files/{big['id']}/content", 24 * MIB)
            elif roll < 0.85 and mine:
                server.get(c, f"/api/v1/files/{rnd.choice(mine)}/content", 4096)
            else:
                server.call("GET", f"/api/v1/folders/{folder}/children", None, server.token, conn=c)
        c.close()

    run_threads(200, client)


WORKLOADS = [("uploads-then-stream", uploads_then_stream, 150), ("clients-200", clients_200, 200)]


def main(argv):
    rounds, extra, builds = 3, [], []
    while argv:
        arg = argv.pop(0)
        if arg == "--rounds":
            rounds = int(argv.pop(0))
        elif arg == "--":
            extra = argv
            break
        else:
            label, spec = arg.split("=", 1)
            binary, *envs = spec.split(",")
            builds.append((label, binary, dict(e.split("=", 1) for e in envs)))
    if not builds:
        print(__doc__)
        return 2
    peaks = {(w, b[0]): [] for w, _, _ in WORKLOADS for b in builds}
    for r in range(rounds):
        for name, workload, _ in WORKLOADS:
            for label, binary, env in builds:
                server = Server(binary, env, extra)
                try:
                    t0 = time.time()
                    workload(server)
                    peak = server.peak_mib()
                finally:
                    server.stop()
                peaks[(name, label)].append(peak)
                print(f"round {r + 1} {name:20} {label:14} peak {peak:6.1f} MiB  ({time.time() - t0:.0f} s)",
                      file=sys.stderr, flush=True)
    for name, _, target in WORKLOADS:
        for label, _, _ in builds:
            runs = peaks[(name, label)]
            print(f"RESULT\t{name}\t{label}\t{statistics.median(runs):.0f}\tMiB peak RSS (target < {target}; "
                  f"runs: {', '.join(f'{p:.0f}' for p in runs)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
