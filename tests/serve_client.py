#!/usr/bin/env python3
"""serve_client.py: the Python side of tests/test_serve.c, a client of `charrnn serve` over
http.client (the standard library only). Run as: serve_client.py SCENARIO PORT [ARG...]. Each check
prints "ok WHAT" or "FAIL WHAT: why"; the C test fails on any FAIL or on a missing final "done".
Nothing here waits on time: where a state must be reached (a stream in the batch, a request in the
queue), it is polled through /metrics."""
import http.client
import json
import os
import signal
import sys
import threading

PORT = 0
KEY = None
failures = 0


def check(ok, what, why=""):
    global failures
    if ok:
        print("ok", what)
    else:
        failures += 1
        print("FAIL", what + ":", why)
    sys.stdout.flush()


def conn():
    return http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)


def request(method, path, body=None, headers=None, raw=False):
    c = conn()
    h = dict(headers or {})
    if KEY:
        h.setdefault("Authorization", "Bearer " + KEY)
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    if body is not None:
        h.setdefault("Content-Type", "application/json")
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    if raw:
        return r.status, r.getheaders(), data
    try:
        return r.status, dict(r.getheaders()), json.loads(data)
    except ValueError:
        return r.status, dict(r.getheaders()), None


def metric(name):
    _, _, data = request("GET", "/metrics", raw=True)
    for line in data.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def wait_metric(name, value):
    """Polls /metrics until name == value (each poll is a request: no sleeping, no clock)."""
    for _ in range(200000):
        if metric(name) == value:
            return True
    return False


class Stream:
    """A streaming completion read incrementally: the events one by one, as they arrive."""

    def __init__(self, body):
        self.c = conn()
        h = {"Content-Type": "application/json"}
        if KEY:
            h["Authorization"] = "Bearer " + KEY
        self.c.request("POST", "/v1/completions", body=json.dumps(dict(body, stream=True)), headers=h)
        self.r = self.c.getresponse()
        self.status = self.r.status

    def event(self):
        """The next event's data (a dict, "[DONE]"), or None at the end of the stream."""
        lines = []
        while True:
            line = self.r.readline()  # through the chunked transfer coding
            if not line:
                return None
            line = line.decode("utf-8")  # raises on a split code point
            if line in ("\n", "\r\n"):
                if lines:
                    break
                continue
            lines.append(line.rstrip("\r\n"))
        assert len(lines) == 1 and lines[0].startswith("data: "), lines
        data = lines[0][6:]
        return data if data == "[DONE]" else json.loads(data)

    def close(self):
        self.c.sock.close()
        self.c.close()


def read_all(s):
    text, finish, events = {}, {}, []
    while True:
        e = s.event()
        if e is None:
            break
        events.append(e)
        if e == "[DONE]":
            continue
        for ch in e["choices"]:
            text[ch["index"]] = text.get(ch["index"], "") + ch["text"]
            if ch["finish_reason"]:
                finish[ch["index"]] = ch["finish_reason"]
    return text, finish, events


def scenario_stream():
    """SSE read incrementally equals the JSON answer of the same seeded request; n choices; stops."""
    body = {"prompt": "床前", "max_tokens": 60, "seed": 7, "temperature": 1.0}
    st, _, j = request("POST", "/v1/completions", body)
    check(st == 200 and j["choices"][0]["finish_reason"] == "length", "json completion", (st, j))
    s = Stream(body)
    check(s.status == 200 and s.r.getheader("Content-Type") == "text/event-stream", "stream headers", s.status)
    first = s.event()
    check(isinstance(first, dict) and first["object"] == "text_completion", "first event read before the rest", first)
    text, finish, events = read_all(s)
    text[0] = first["choices"][0]["text"] + text.get(0, "")
    s.close()
    check(events and events[-1] == "[DONE]", "stream ends with [DONE]", events[-1:])
    check(text[0] == j["choices"][0]["text"], "stream text equals json text", (text[0], j["choices"][0]["text"]))
    check(len(text[0]) == 60 and "\ufffd" not in text[0], "60 whole characters, none split", text[0])
    # n choices: each reproducible, seed+i
    st, _, j2 = request("POST", "/v1/completions", dict(body, n=3))
    check(st == 200 and [c["index"] for c in j2["choices"]] == [0, 1, 2], "n=3 gives 3 choices", j2)
    st, _, j3 = request("POST", "/v1/completions", dict(body, seed=8, max_tokens=5))
    check(st == 200 and len(j3["choices"][0]["text"]) == 5, "another seed", j3)
    s = Stream(dict(body, n=2, max_tokens=20))
    text, finish, events = read_all(s)
    s.close()
    check(len(text) == 2 and all(len(t) == 20 for t in text.values()) and finish == {0: "length", 1: "length"},
          "streamed n=2", (text, finish))
    # stop strings: the text ends before the first stop string, which is not sent
    st, _, long = request("POST", "/v1/completions", {"prompt": "床前", "max_tokens": 200, "seed": 3})
    t = long["choices"][0]["text"]
    stop = t[10:12]
    st, _, js = request("POST", "/v1/completions", {"prompt": "床前", "max_tokens": 200, "seed": 3, "stop": [stop, "\u00a7"]})
    want = t[:t.find(stop)]
    check(js["choices"][0]["text"] == want and js["choices"][0]["finish_reason"] == "stop", "stop (json)",
          (js["choices"][0], want))
    s = Stream({"prompt": "床前", "max_tokens": 200, "seed": 3, "stop": stop})
    text, finish, _ = read_all(s)
    s.close()
    check(text.get(0, "") == want and finish[0] == "stop", "stop (stream) never sends the stop string", (text, want))


def scenario_coalesce():
    """Under a long --stream-interval a stream sends its first character at once and the rest with
    its end: two events, whatever the timing, and the same text as the JSON answer."""
    body = {"prompt": "床前", "max_tokens": 300, "seed": 11, "temperature": 1.0}
    st, _, j = request("POST", "/v1/completions", body)
    check(st == 200 and len(j["choices"][0]["text"]) == 300, "json completion", (st, j))
    s = Stream(body)
    text, finish, events = read_all(s)
    s.close()
    texts = [e for e in events if e != "[DONE]"]
    check(events[-1:] == ["[DONE]"] and len(texts) <= 2, "at most a first event and a last one", len(texts))
    check(text.get(0) == j["choices"][0]["text"] and finish == {0: "length"}, "coalesced text equals json text",
          (text, finish))
    s = Stream(dict(body, n=4, max_tokens=50))
    text, finish, events = read_all(s)
    s.close()
    check(len(text) == 4 and all(len(t) == 50 for t in text.values()) and len(events) <= 9,
          "n=4: each choice whole, at most two events each", (len(events), text))


def scenario_errors():
    """Every class of bad input gets a JSON error with a 4xx, and the server goes on."""
    cases = [
        ("malformed json", b'{"prompt": "a",', 400),
        ("not an object", b'["a"]', 400),
        ("empty body", b"", 400),
        ("wrong type prompt", {"prompt": 5}, 400),
        ("wrong type max_tokens", {"max_tokens": "10"}, 400),
        ("wrong type stream", {"stream": "yes"}, 400),
        ("wrong type stop", {"stop": 3}, 400),
        ("out of range temperature", {"temperature": -1}, 400),
        ("out of range tiny temperature", {"temperature": 1e-9}, 400),
        ("out of range top_p", {"top_p": 0}, 400),
        ("out of range min_p", {"min_p": 1}, 400),
        ("out of range repetition_penalty", {"repetition_penalty": 0.5}, 400),
        ("out of range max_tokens", {"max_tokens": 10 ** 9}, 400),
        ("fractional max_tokens", {"max_tokens": 2.5}, 400),
        ("out of range n", {"n": 0}, 400),
        ("n over the batch", {"n": 1000}, 400),
        ("negative seed", {"seed": -1}, 400),
        ("unknown field", {"prompt": "a", "temprature": 1}, 400),
        ("lone surrogate", b'{"prompt": "\\ud800"}', 400),
        ("invalid UTF-8 prompt", b'{"prompt": "\xff\xfe"}', 400),
        ("NUL in body", b'{"prompt": "a"}\x00', 400),
        ("too many stops", {"stop": ["a", "b", "c", "d", "e"]}, 400),
        ("nothing in the vocabulary", {"prompt": "\u2603\u2603"}, 400),
    ]
    for what, body, code in cases:
        st, _, j = request("POST", "/v1/completions", body)
        check(st == code and j and "message" in j["error"] and j["error"]["code"] == code, what, (st, j))
    for what, body in [("score without text", {}), ("score wrong type", {"text": 1}),
                       ("score unknown field", {"text": "a", "x": 1}), ("score top_k range", {"text": "a", "top_k": -1})]:
        st, _, j = request("POST", "/v1/score", body)
        check(st == 400 and j and j["error"]["code"] == 400, what, (st, j))
    st, _, j = request("POST", "/v1/completions", "x" * 5000)
    check(st == 413 and j["error"]["code"] == 413, "body over --max-body", (st, j))
    st, _, j = request("GET", "/nope")
    check(st == 404 and j["error"]["code"] == 404, "unknown path", (st, j))
    st, _, j = request("GET", "/v1/completions")
    check(st == 405 and j["error"]["code"] == 405, "wrong method", (st, j))
    st, _, j = request("GET", "/viz")
    check(st == 400, "viz without text", (st, j))
    # characters outside the vocabulary: skipped and reported
    st, _, j = request("POST", "/v1/completions", {"prompt": "床\u2603前", "max_tokens": 3, "seed": 1})
    check(st == 200 and j["charrnn"]["skipped_prompt_chars"] == 1 and j["charrnn"]["skipped_examples"] == "\u2603",
          "out-of-vocabulary prompt characters skipped and reported", j)
    st, _, j = request("POST", "/v1/score", {"text": "床\u2603前"})
    check(st == 200 and j["unknown"] == 1 and j["predicted"] == 1, "score skips and reports them too", j)
    # a client that leaves mid-stream: the server goes on
    s = Stream({"prompt": "床", "max_tokens": 100000, "seed": 1})
    check(isinstance(s.event(), dict), "a long stream starts")
    s.close()
    check(wait_metric("charrnn_active_streams", 0), "the abandoned stream leaves the batch")
    st, _, j = request("GET", "/health")
    check(st == 200 and j["status"] == "ok", "server alive after all that", j)
    errors = metric('charrnn_errors_total{code="400"}')
    check(errors is not None and errors >= len(cases), "errors counted in /metrics", errors)


def scenario_auth():
    global KEY
    st, h, j = request("GET", "/v1/models")
    check(st == 401 and j["error"]["code"] == 401 and "Bearer" in h.get("WWW-Authenticate", ""), "no key: 401", (st, j))
    st, _, j = request("POST", "/v1/completions", {"prompt": "a"}, headers={"Authorization": "Bearer wrong"})
    check(st == 401, "wrong key: 401", st)
    st, _, j = request("GET", "/health")
    check(st == 200, "health needs no key", st)
    KEY = "sesame"
    st, _, j = request("GET", "/v1/models")
    check(st == 200 and j["data"][0]["object"] == "model", "right key: 200", (st, j))


def scenario_queue():
    """--max-batch 1 --max-queue 1: one stream runs, one request waits, the next gets 503 + Retry-After."""
    a = Stream({"prompt": "床", "max_tokens": 100000, "seed": 1})
    check(a.status == 200 and isinstance(a.event(), dict), "A holds the batch")
    check(wait_metric("charrnn_active_streams", 1), "A in the batch")
    result = {}

    def b():
        result["b"] = request("POST", "/v1/completions", {"prompt": "床", "max_tokens": 5, "seed": 2})

    t = threading.Thread(target=b)
    t.start()
    check(wait_metric("charrnn_queue_length", 1), "B waits in the queue")
    st, h, j = request("POST", "/v1/completions", {"prompt": "床", "max_tokens": 5})
    check(st == 503 and h.get("Retry-After") == "1" and j["error"]["code"] == 503, "C: queue full, 503", (st, h, j))
    a.close()  # A's client goes away: B gets the batch
    t.join()
    st, _, j = result["b"]
    check(st == 200 and len(j["choices"][0]["text"]) == 5, "B answered once A left", (st, j))


def scenario_drain(pid, max_tokens, want_finish):
    """A stream open when SIGTERM comes ends cleanly ([DONE]); the C side checks the exit status."""
    s = Stream({"prompt": "床", "max_tokens": max_tokens, "seed": 4})
    first = s.event()
    check(isinstance(first, dict), "stream started")
    os.kill(pid, signal.SIGTERM)
    text, finish, events = read_all(s)
    text[0] = first["choices"][0]["text"] + text.get(0, "")
    check(events and events[-1] == "[DONE]", "stream ended with [DONE] after SIGTERM", events[-1:])
    check(finish.get(0) == "length", "with a finish_reason", finish)
    if want_finish:
        check(len(text[0]) == max_tokens, "finished within --drain", len(text[0]))
    else:
        check(len(text[0]) < max_tokens, "cut at the end of --drain", len(text[0]))


def main():
    global PORT
    name, PORT = sys.argv[1], int(sys.argv[2])
    if name == "stream":
        scenario_stream()
    elif name == "coalesce":
        scenario_coalesce()
    elif name == "errors":
        scenario_errors()
    elif name == "auth":
        scenario_auth()
    elif name == "queue":
        scenario_queue()
    elif name == "drain":
        scenario_drain(int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "finish")
    else:
        check(False, "scenario", name)
    print("done", failures)


if __name__ == "__main__":
    main()
