#!/usr/bin/env python3
"""serve_load.py: a bounded load test of `charrnn serve` on loopback (Python's asyncio, nothing to install).

    bench/serve_load.py CHECKPOINT            starts ./charrnn serve CHECKPOINT --port 0 --max-batch 64 itself
    bench/serve_load.py --port 8080           uses a server already running

For 1, 8 and 64 concurrent clients (--seconds each, default 15: under a minute in all), every client
sends streaming completions one after another on one kept-alive connection, as HTTP clients' pools
do (--chars characters each), and reads the events as they come. Prints, per level: requests,
errors, p50 and p99 time to the first character, the total characters per second, and the CPU the
server (when started here) and this client used, in cores. Any malformed answer counts as an error."""
import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time


async def one_request(conn, port, chars, seed):
    """One streaming completion on a kept-alive connection (opened when conn[0] is None, as an
    HTTP client's pool does): (time to first character, characters, ok)."""
    if conn[0] is None:
        conn[:] = await asyncio.open_connection("127.0.0.1", port)
    reader, writer = conn
    body = json.dumps({"prompt": "The ", "max_tokens": chars, "seed": seed, "stream": True,
                       "temperature": 1.0}).encode()
    writer.write(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    await writer.drain()
    t0 = time.perf_counter()
    status = await reader.readline()
    ok, keep = status.startswith(b"HTTP/1.1 200"), True
    while (line := await reader.readline()) not in (b"\r\n", b""):
        keep &= line.lower().strip() != b"connection: close"
    first, n, done, ended, buf = None, 0, False, False, b""
    while ok and not ended:
        size_line = await reader.readline()  # chunked transfer coding, to its last chunk
        if not size_line:
            break
        size = int(size_line.strip() or b"0", 16)
        if size == 0:
            ended = await reader.readline() == b"\r\n"
            break
        buf += await reader.readexactly(size)
        await reader.readexactly(2)
        while not done and b"\n\n" in buf:
            event, buf = buf.split(b"\n\n", 1)
            data = event[len(b"data: "):]
            if data == b"[DONE]":
                done = True
                break
            text = json.loads(data)["choices"][0]["text"]
            if text and first is None:
                first = time.perf_counter() - t0
            n += len(text)
    if not (ok and ended and keep):
        writer.close()
        conn[:] = [None, None]
    return first, n, ok and done and n == chars


async def level(port, clients, seconds, chars):
    end = time.perf_counter() + seconds
    ttfc, total, errors, requests = [], 0, 0, 0

    async def client(k):
        nonlocal total, errors, requests
        seed = k * 100000
        conn = [None, None]
        while time.perf_counter() < end:
            seed += 1
            try:
                first, n, ok = await one_request(conn, port, chars, seed)
            except (OSError, ValueError, asyncio.IncompleteReadError):
                first, n, ok = None, 0, False
                if conn[1] is not None:
                    conn[1].close()
                conn[:] = [None, None]
            requests += 1
            total += n
            errors += not ok
            if first is not None:
                ttfc.append(first)
        if conn[1] is not None:
            conn[1].close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    wall = time.perf_counter() - t0
    ttfc.sort()
    pick = lambda q: ttfc[min(len(ttfc) - 1, int(q * len(ttfc)))] * 1000 if ttfc else float("nan")
    return requests, errors, pick(0.5), pick(0.99), total / wall


def cpu_seconds(pid):
    """User + system CPU seconds of a process (the server's, when this script started it)."""
    if pid is None:
        return float("nan")
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", nargs="?")
    ap.add_argument("--port", type=int)
    ap.add_argument("--charrnn", default="./charrnn")
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--chars", type=int, default=200)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--serve-options", default="", help="more options for charrnn serve, in one string")
    a = ap.parse_args()
    if a.seconds * 3 > 60:
        sys.exit("serve_load.py: --seconds is at most 20 (three levels in under a minute)")
    server = None
    port = a.port
    if port is None:
        if not a.checkpoint:
            sys.exit("serve_load.py: give a CHECKPOINT (a server is started) or --port of a running server")
        server = subprocess.Popen([a.charrnn, "serve", a.checkpoint, "--port", "0", "--max-batch", "64",
                                   "--max-queue", "256", "--threads", str(a.threads)] + a.serve_options.split(), stdout=subprocess.PIPE)
        line = server.stdout.readline().decode()
        port = int(line.rsplit(":", 1)[1])
    try:
        print(f"{'clients':>7} {'requests':>8} {'errors':>6} {'p50 first char':>15} {'p99 first char':>15} {'chars/s':>10}"
              f" {'server CPU':>10} {'client CPU':>10}")
        for clients in (1, 8, 64):
            s0, c0, t0 = cpu_seconds(server and server.pid), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            r, e, p50, p99, rate = asyncio.run(level(port, clients, a.seconds, a.chars))
            s1, c1, t1 = cpu_seconds(server and server.pid), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            ccpu = (c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime) / (t1 - t0)
            print(f"{clients:7d} {r:8d} {e:6d} {p50:12.1f} ms {p99:12.1f} ms {rate:10.0f}"
                  f" {(s1 - s0) / (t1 - t0):9.2f}x {ccpu:9.2f}x")
            sys.stdout.flush()
    finally:
        if server:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
