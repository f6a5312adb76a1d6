#!/usr/bin/env python3
"""serve_load.py: a bounded load test of `charrnn serve` on loopback (Python's asyncio, nothing to install).

    bench/serve_load.py CHECKPOINT            starts ./charrnn serve CHECKPOINT --port 0 --max-batch 64 itself
    bench/serve_load.py --port 8080           uses a server already running

For 1, 8 and 64 concurrent clients (--seconds each, default 15: under a minute in all), every client
sends streaming completions one after another (--chars characters each) and reads the events as
they come. Prints, per level: requests, errors, p50 and p99 time to the first character, and the
total characters per second. Any malformed answer counts as an error."""
import argparse
import asyncio
import json
import os
import subprocess
import sys
import time


async def one_request(port, chars, seed):
    """One streaming completion: (time to first character, characters, ok)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = json.dumps({"prompt": "The ", "max_tokens": chars, "seed": seed, "stream": True,
                       "temperature": 1.0}).encode()
    writer.write(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    await writer.drain()
    t0 = time.perf_counter()
    status = await reader.readline()
    ok = status.startswith(b"HTTP/1.1 200")
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    first, n, done, buf = None, 0, False, b""
    while ok and not done:
        size_line = await reader.readline()  # chunked transfer coding
        if not size_line:
            break
        size = int(size_line.strip() or b"0", 16)
        if size == 0:
            break
        buf += await reader.readexactly(size)
        await reader.readexactly(2)
        while b"\n\n" in buf:
            event, buf = buf.split(b"\n\n", 1)
            data = event[len(b"data: "):]
            if data == b"[DONE]":
                done = True
                break
            text = json.loads(data)["choices"][0]["text"]
            if text and first is None:
                first = time.perf_counter() - t0
            n += len(text)
    writer.close()
    return first, n, ok and done and n == chars


async def level(port, clients, seconds, chars):
    end = time.perf_counter() + seconds
    ttfc, total, errors, requests = [], 0, 0, 0

    async def client(k):
        nonlocal total, errors, requests
        seed = k * 100000
        while time.perf_counter() < end:
            seed += 1
            try:
                first, n, ok = await one_request(port, chars, seed)
            except (OSError, ValueError, asyncio.IncompleteReadError):
                first, n, ok = None, 0, False
            requests += 1
            total += n
            errors += not ok
            if first is not None:
                ttfc.append(first)

    t0 = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    wall = time.perf_counter() - t0
    ttfc.sort()
    pick = lambda q: ttfc[min(len(ttfc) - 1, int(q * len(ttfc)))] * 1000 if ttfc else float("nan")
    return requests, errors, pick(0.5), pick(0.99), total / wall


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", nargs="?")
    ap.add_argument("--port", type=int)
    ap.add_argument("--charrnn", default="./charrnn")
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--chars", type=int, default=200)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.seconds * 3 > 60:
        sys.exit("serve_load.py: --seconds is at most 20 (three levels in under a minute)")
    server = None
    port = a.port
    if port is None:
        if not a.checkpoint:
            sys.exit("serve_load.py: give a CHECKPOINT (a server is started) or --port of a running server")
        server = subprocess.Popen([a.charrnn, "serve", a.checkpoint, "--port", "0", "--max-batch", "64",
                                   "--max-queue", "256", "--threads", str(a.threads)], stdout=subprocess.PIPE)
        line = server.stdout.readline().decode()
        port = int(line.rsplit(":", 1)[1])
    try:
        print(f"{'clients':>7} {'requests':>8} {'errors':>6} {'p50 first char':>15} {'p99 first char':>15} {'chars/s':>10}")
        for clients in (1, 8, 64):
            r, e, p50, p99, rate = asyncio.run(level(port, clients, a.seconds, a.chars))
            print(f"{clients:7d} {r:8d} {e:6d} {p50:12.1f} ms {p99:12.1f} ms {rate:10.0f}")
            sys.stdout.flush()
    finally:
        if server:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
