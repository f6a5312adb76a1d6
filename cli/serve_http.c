/* serve_http.c: the HTTP face of `charrnn serve`, on GNU libmicrohttpd (Debian's
 * libmicrohttpd-dev: a small, long-kept C HTTP/1.1 server library that parses
 * requests, handles keep-alive, chunked bodies and 100-continue, and streams a
 * response from a callback; chosen over hand-written parsing, and over heavier
 * frameworks that would bring an event loop of their own). One thread per
 * connection: a connection that waits for characters just blocks on the
 * scheduler's condition variable. Routes: /v1/completions (JSON or Server-Sent
 * Events), /v1/score, /v1/models, /health, /metrics, / (the playground) and /viz. */
#include "cli.h"
#include "serve.h"
#include "signals.h"
#include "viz.h"

#include <arpa/inet.h>
#include <math.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

PAGE_FILE(serve_page_css, "cli/pages/serve.css");
PAGE_FILE(serve_page_js, "cli/pages/serve.js");

/* The playground: a prime, the sampling controls, and the text as the server streams it (cli/pages/serve.js). */
static void page_write(jbuf *b) {
    jb_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>charrnn serve</title>\n"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<style>\n%s</style></head>\n<body>\n"
                 "<header><h1>charrnn serve: playground</h1><p id=\"model\">The model runs on the server; this page "
                 "streams what it writes.</p></header>\n<main>\n"
                 "<textarea id=\"prime\" placeholder=\"a prime: the text to continue\"></textarea>\n<div class=\"controls\">\n"
                 "<label>temperature <input id=\"temperature\" type=\"number\" value=\"0.8\" min=\"0\" max=\"5\" step=\"0.05\"></label>\n"
                 "<label>characters <input id=\"length\" type=\"number\" value=\"500\" min=\"1\" max=\"100000\"></label>\n"
                 "<label>top-p <input id=\"top_p\" type=\"number\" value=\"1\" min=\"0.01\" max=\"1\" step=\"0.01\"></label>\n"
                 "<label>seed <input id=\"seed\" type=\"number\" placeholder=\"random\" min=\"0\"></label>\n"
                 "<label>API key <input id=\"key\" type=\"password\" size=\"12\"></label>\n"
                 "<button id=\"go\">Write</button> <button id=\"stop\" disabled>Stop</button>\n"
                 "<a href=\"#\" id=\"viz\">look inside</a>\n</div>\n<div id=\"out\"></div>\n<div id=\"status\"></div>\n</main>\n"
                 "<script>\n%s</script>\n</body></html>\n", serve_page_css, serve_page_js);
}

enum { EP_COMPLETIONS, EP_SCORE, EP_MODELS, EP_HEALTH, EP_METRICS, EP_PAGE, EP_VIZ, EP_OTHER };
static const char *const EP_NAMES[] = {"completions", "score", "models", "health", "metrics", "page", "viz", "other"};
static const int ERR_CODES[] = {400, 401, 404, 405, 413, 500, 503, 0};

typedef struct server {
    serve_state *s;
    const serve_opts *o;
    uint64_t next_id;
} server;

/* What one request carries from call to call of the handler: its body. */
typedef struct conn_ctx {
    jbuf body;
    int too_big;
} conn_ctx;

static void count(server *sv, int ep, int code) {
    pthread_mutex_lock(&sv->s->mu);
    sv->s->met.requests[ep]++;
    if (code >= 400) {
        int k = 0;
        while (ERR_CODES[k] && ERR_CODES[k] != code) k++;
        sv->s->met.errors[k]++;
    }
    pthread_mutex_unlock(&sv->s->mu);
}

static enum MHD_Result send_buf(struct MHD_Connection *c, int code, const char *type, const char *p, size_t n,
                                const char *retry_after) {
    struct MHD_Response *r = MHD_create_response_from_buffer(n, (void *)p, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    if (retry_after) MHD_add_response_header(r, "Retry-After", retry_after);
    if (code == 401) MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)code, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_json(server *sv, struct MHD_Connection *c, int ep, int code, jbuf *b) {
    count(sv, ep, code);
    if (b->oom) return send_buf(c, 500, "application/json", "{\"error\":{\"message\":\"out of memory\"}}", 37, NULL);
    return send_buf(c, code, "application/json", b->buf ? b->buf : "", b->len, NULL);
}

/* {"error": {"message", "type", "code"}}, as OpenAI's API answers. */
static enum MHD_Result send_error(server *sv, struct MHD_Connection *c, int ep, int code, const char *msg) {
    jbuf b;
    jb_init(&b);
    const char *type = code == 401 ? "authentication_error" : code == 503 ? "overloaded" : code >= 500 ? "server_error"
                                                                                                      : "invalid_request_error";
    jb_raw(&b, "{\"error\":{\"message\":");
    jb_ascii_string(&b, msg, strlen(msg));
    jb_printf(&b, ",\"type\":\"%s\",\"code\":%d}}\n", type, code);
    count(sv, ep, code);
    enum MHD_Result r = send_buf(c, code, "application/json", b.buf, b.len, code == 503 ? "1" : NULL);
    jb_free(&b);
    return r;
}

/* ---- completions ---------------------------------------------------------------- */

static void json_head(server *sv, jbuf *b, uint64_t id, const char *object) {
    jb_printf(b, "{\"id\":\"cmpl-%llu\",\"object\":\"%s\",\"created\":%lld,\"model\":", (unsigned long long)id, object,
              (long long)time(NULL));
    jb_ascii_string(b, sv->s->model_name, strlen(sv->s->model_name));
}

static void skipped_json(jbuf *b, const serve_job *j) {
    char ex[64];
    size_t n = 0;
    for (int i = 0; i < j->num_examples; i++) n += (size_t)charrnn_utf8_encode(j->skipped_examples[i], ex + n);
    jb_printf(b, "\"charrnn\":{\"seed\":%llu,\"skipped_prompt_chars\":%ld,\"skipped_examples\":",
              (unsigned long long)j->p.seed, j->skipped);
    jb_ascii_string(b, ex, n);
    jb_raw(b, "}");
}

static long count_chars(const char *s, size_t n) {
    long k = 0;
    for (size_t i = 0; i < n; i++) k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

typedef struct stream_ctx {
    server *sv;
    serve_job *j;
    uint64_t id;
    jbuf out;          /* events ready to send */
    size_t out_pos;
    int done_sent;
} stream_ctx;

/* The next events of a streaming completion; blocks until there are some (MHD calls it from the connection's thread). */
static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max) {
    stream_ctx *x = cls;
    serve_state *s = x->sv->s;
    serve_job *j = x->j;
    pthread_mutex_lock(&s->mu);
    while (x->out_pos == x->out.len) {
        x->out.len = x->out_pos = 0;
        int all_final = 1;
        for (int i = 0; i < j->p.n; i++) {
            serve_choice *c = &j->ch[i];
            size_t n = sched_sendable(j, c);
            int final = c->finish && !c->final_sent;
            if (n > c->sent || final) {
                if (c->finish && !strcmp(c->finish, "error")) {
                    jb_raw(&x->out, "data: {\"error\":{\"message\":");
                    jb_ascii_string(&x->out, j->error, strlen(j->error));
                    jb_raw(&x->out, ",\"type\":\"server_error\"}}\n\n");
                } else {
                    jb_raw(&x->out, "data: ");
                    json_head(x->sv, &x->out, x->id, "text_completion");
                    jb_raw(&x->out, ",\"choices\":[{\"text\":");
                    jb_ascii_string(&x->out, c->text.buf + c->sent, n - c->sent);
                    jb_printf(&x->out, ",\"index\":%d,\"logprobs\":null,\"finish_reason\":", i);
                    if (final) jb_printf(&x->out, "\"%s\"", c->finish);
                    else jb_raw(&x->out, "null");
                    jb_raw(&x->out, "}]}\n\n");
                }
                c->sent = n;
                if (final) c->final_sent = 1;
                pthread_cond_signal(&s->work); /* the scheduler may have paused this stream */
            }
            all_final &= c->final_sent;
        }
        if (all_final && !x->done_sent) {
            jb_raw(&x->out, "data: [DONE]\n\n");
            x->done_sent = 1;
        }
        if (x->out.oom) break;
        if (x->out.len) break;
        if (x->done_sent) break;
        pthread_cond_wait(&j->cv, &s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    if (x->out.oom) return MHD_CONTENT_READER_END_WITH_ERROR;
    if (x->out_pos == x->out.len) return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = x->out.len - x->out_pos < max ? x->out.len - x->out_pos : max;
    memcpy(buf, x->out.buf + x->out_pos, n);
    x->out_pos += n;
    return (ssize_t)n;
}

static void sse_free(void *cls) {
    stream_ctx *x = cls;
    pthread_mutex_lock(&x->sv->s->mu);
    x->sv->s->open_streams--;
    pthread_mutex_unlock(&x->sv->s->mu);
    sched_release(x->sv->s, x->j); /* a client gone mid-stream: its streams leave the batch */
    jb_free(&x->out);
    free(x);
}

static enum MHD_Result completions(server *sv, struct MHD_Connection *c, const conn_ctx *cc) {
    serve_state *s = sv->s;
    char err[800];
    serve_job *j = calloc(1, sizeof *j);
    if (!j) return send_error(sv, c, EP_COMPLETIONS, 500, "out of memory");
    if (serve_parse_completion(cc->body.buf ? cc->body.buf : "", cc->body.len, s->max_batch, &j->p, err, sizeof err)) {
        free(j);
        return send_error(sv, c, EP_COMPLETIONS, 400, err);
    }
    pthread_mutex_lock(&s->mu);
    uint64_t id = ++sv->next_id;
    pthread_mutex_unlock(&s->mu);
    if (!j->p.has_seed) /* one a client can send back: JSON numbers are exact to 2^53 */
        j->p.seed = (((uint64_t)time(NULL) << 20) ^ (id * 0x9E3779B97F4A7C15ull)) & ((1ull << 53) - 1);
    if (sched_submit(s, j)) {
        int draining = s->draining;
        serve_completion_free(&j->p);
        free(j);
        return send_error(sv, c, EP_COMPLETIONS, 503, draining ? "the server is shutting down" :
                          "the queue is full (--max-queue); retry after a second");
    }
    pthread_mutex_lock(&s->mu);
    while (j->state == REQ_QUEUED || (!j->p.stream && j->state != REQ_DONE)) pthread_cond_wait(&j->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    if (j->error[0]) { /* priming failed (no prompt character in the vocabulary) */
        enum MHD_Result r = send_error(sv, c, EP_COMPLETIONS, 400, j->error);
        sched_release(s, j);
        return r;
    }
    if (j->p.stream) {
        stream_ctx *x = calloc(1, sizeof *x);
        struct MHD_Response *r = x ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, x, sse_free) : NULL;
        if (!r) { free(x); sched_release(s, j); return send_error(sv, c, EP_COMPLETIONS, 500, "out of memory"); }
        x->sv = sv;
        x->j = j;
        x->id = id;
        pthread_mutex_lock(&s->mu);
        s->open_streams++;
        pthread_mutex_unlock(&s->mu);
        jb_init(&x->out);
        MHD_add_response_header(r, "Content-Type", "text/event-stream");
        MHD_add_response_header(r, "Cache-Control", "no-cache");
        count(sv, EP_COMPLETIONS, 200);
        enum MHD_Result ok = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
        return ok;
    }
    jbuf b;
    jb_init(&b);
    json_head(sv, &b, id, "text_completion");
    jb_raw(&b, ",\"choices\":[");
    long drawn = 0;
    for (int i = 0; i < j->p.n; i++) {
        serve_choice *ch = &j->ch[i];
        jb_raw(&b, i ? ",{\"text\":" : "{\"text\":");
        jb_ascii_string(&b, ch->text.buf ? ch->text.buf : "", ch->text.len);
        jb_printf(&b, ",\"index\":%d,\"logprobs\":null,\"finish_reason\":\"%s\"}", i, ch->finish);
        drawn += ch->drawn;
    }
    long pt = count_chars(j->p.prompt, j->p.prompt_len);
    jb_printf(&b, "],\"usage\":{\"prompt_tokens\":%ld,\"completion_tokens\":%ld,\"total_tokens\":%ld},", pt, drawn,
              pt + drawn);
    skipped_json(&b, j);
    jb_raw(&b, "}\n");
    sched_release(s, j);
    enum MHD_Result r = send_json(sv, c, EP_COMPLETIONS, 200, &b);
    jb_free(&b);
    return r;
}

/* ---- score ---------------------------------------------------------------------- */

static void char_json(jbuf *b, const serve_state *s, uint32_t ch) {
    char u[4];
    int k = s->info.unit == CHARRNN_UNIT_BYTE && ch >= 0x80 ? 0 : charrnn_utf8_encode(ch, u);
    if (k) jb_ascii_string(b, u, (size_t)k);
    else jb_printf(b, "\"\\\\x%02x\"", (unsigned)ch); /* a byte model's lone byte */
}

static enum MHD_Result score(server *sv, struct MHD_Connection *c, const conn_ctx *cc) {
    serve_state *s = sv->s;
    serve_score q;
    char err[800];
    if (serve_parse_score(cc->body.buf ? cc->body.buf : "", cc->body.len, &q, err, sizeof err))
        return send_error(sv, c, EP_SCORE, 400, err);
    charrnn_stream *st = NULL;
    charrnn_error e = {0};
    const int V = s->info.vocab_size;
    float *lp = malloc((size_t)V * sizeof(float));
    if (!lp || charrnn_stream_open(&st, s->m, 1, &e)) {
        free(lp);
        serve_score_free(&q);
        return send_error(sv, c, EP_SCORE, 500, lp ? e.msg : "out of memory");
    }
    jbuf per, b;
    jb_init(&per);
    jb_init(&b);
    double sum = 0;
    long predicted = 0, unknown = 0, fed = 0;
    char ex[64];
    size_t exn = 0;
    int nex = 0;
    for (size_t i = 0; i < q.len;) {
        uint32_t ch;
        int k = s->info.unit == CHARRNN_UNIT_BYTE ? 1 : charrnn_utf8_decode(q.text + i, q.len - i, &ch);
        if (s->info.unit == CHARRNN_UNIT_BYTE) ch = (unsigned char)q.text[i];
        i += (size_t)k;
        int id = charrnn_model_char_index(s->m, ch);
        if (id < 0) {
            if (nex < 8 && s->info.unit == CHARRNN_UNIT_CODEPOINT) { exn += (size_t)charrnn_utf8_encode(ch, ex + exn); nex++; }
            unknown++;
            continue;
        }
        double l = NAN;
        if (fed) { /* every character after the first is predicted from those before it */
            charrnn_stream_logprobs(st, 0, lp);
            l = lp[id];
            sum += l;
            predicted++;
        }
        if (q.logprobs) {
            jb_raw(&per, per.len ? ",{\"char\":" : "{\"char\":");
            char_json(&per, s, ch);
            jb_raw(&per, ",\"logprob\":");
            jb_number(&per, l);
            jb_raw(&per, "}");
        }
        charrnn_stream_feed(st, &id, &e);
        fed++;
    }
    double nats = predicted ? -sum / (double)predicted : NAN;
    jb_raw(&b, "{\"object\":\"score\",\"model\":");
    jb_ascii_string(&b, s->model_name, strlen(s->model_name));
    jb_printf(&b, ",\"characters\":%ld,\"predicted\":%ld,\"nats\":", fed, predicted);
    jb_number(&b, nats);
    jb_raw(&b, ",\"bpc\":");
    jb_number(&b, nats / log(2.0));
    jb_printf(&b, ",\"total_nats\":");
    jb_number(&b, -sum);
    jb_printf(&b, ",\"unknown\":%ld,\"unknown_examples\":", unknown);
    jb_ascii_string(&b, ex, exn);
    if (q.logprobs) {
        jb_raw(&b, ",\"logprobs\":[");
        if (per.len) jb_raw(&b, per.buf);
        jb_raw(&b, "]");
    }
    jb_raw(&b, ",\"top_next\":[");
    const float *p = charrnn_stream_probs(st, 0);
    int *order = malloc((size_t)V * sizeof(int));
    int top = q.top_k < V ? q.top_k : V;
    for (int t = 0; order && t < top; t++) { /* selection of the top few, ties by vocabulary order */
        int best = -1;
        for (int v = 0; v < V; v++) {
            int taken = 0;
            for (int u = 0; u < t && !taken; u++) taken = order[u] == v;
            if (!taken && (best < 0 || p[v] > p[best])) best = v;
        }
        order[t] = best;
        jb_raw(&b, t ? ",{\"char\":" : "{\"char\":");
        char_json(&b, s, charrnn_model_vocab(s->m, best));
        jb_raw(&b, ",\"prob\":");
        jb_number(&b, p[best]);
        jb_raw(&b, "}");
    }
    jb_raw(&b, "]}\n");
    free(order);
    free(lp);
    charrnn_stream_close(st);
    serve_score_free(&q);
    jb_free(&per);
    enum MHD_Result r = send_json(sv, c, EP_SCORE, 200, &b);
    jb_free(&b);
    return r;
}

/* ---- the small GET endpoints -------------------------------------------------------- */

static enum MHD_Result models(server *sv, struct MHD_Connection *c) {
    const charrnn_model_info *in = &sv->s->info;
    jbuf b;
    jb_init(&b);
    jb_raw(&b, "{\"object\":\"list\",\"data\":[{\"id\":");
    jb_ascii_string(&b, sv->s->model_name, strlen(sv->s->model_name));
    jb_printf(&b, ",\"object\":\"model\",\"created\":0,\"owned_by\":\"charrnn\",\"charrnn\":{\"cell\":\"%s\","
                  "\"num_layers\":%d,\"rnn_size\":%d,\"vocab_size\":%d,\"unit\":\"%s\",\"num_params\":%zu,\"iteration\":%ld}}]}\n",
              charrnn_cell_name(in->config.cell), in->config.num_layers, in->config.rnn_size, in->vocab_size,
              in->unit == CHARRNN_UNIT_BYTE ? "byte" : "codepoint", in->num_params, in->iteration);
    enum MHD_Result r = send_json(sv, c, EP_MODELS, 200, &b);
    jb_free(&b);
    return r;
}

static enum MHD_Result health(server *sv, struct MHD_Connection *c) {
    serve_state *s = sv->s;
    jbuf b;
    jb_init(&b);
    pthread_mutex_lock(&s->mu);
    int draining = s->draining;
    jb_printf(&b, "{\"status\":\"%s\",\"active\":%d,\"queued\":%d}\n", draining ? "draining" : "ok", s->active, s->queued);
    pthread_mutex_unlock(&s->mu);
    enum MHD_Result r = send_json(sv, c, EP_HEALTH, draining ? 503 : 200, &b);
    jb_free(&b);
    return r;
}

static enum MHD_Result metrics(server *sv, struct MHD_Connection *c) {
    serve_state *s = sv->s;
    static const char *const bounds[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"};
    count(sv, EP_METRICS, 200); /* this request counts itself */
    jbuf b;
    jb_init(&b);
    pthread_mutex_lock(&s->mu);
    jb_raw(&b, "# HELP charrnn_requests_total HTTP requests by endpoint.\n# TYPE charrnn_requests_total counter\n");
    for (int e = 0; e <= EP_OTHER; e++)
        jb_printf(&b, "charrnn_requests_total{endpoint=\"%s\"} %ld\n", EP_NAMES[e], s->met.requests[e]);
    jb_raw(&b, "# HELP charrnn_errors_total Error answers by status code.\n# TYPE charrnn_errors_total counter\n");
    for (int k = 0; k < 8; k++)
        if (ERR_CODES[k]) jb_printf(&b, "charrnn_errors_total{code=\"%d\"} %ld\n", ERR_CODES[k], s->met.errors[k]);
        else jb_printf(&b, "charrnn_errors_total{code=\"other\"} %ld\n", s->met.errors[k]);
    jb_printf(&b, "# HELP charrnn_chars_drawn_total Characters sampled.\n# TYPE charrnn_chars_drawn_total counter\n"
                  "charrnn_chars_drawn_total %ld\n", s->met.chars);
    jb_printf(&b, "# HELP charrnn_queue_length Completions waiting for a place in the batch.\n# TYPE charrnn_queue_length gauge\n"
                  "charrnn_queue_length %d\n", s->queued);
    jb_printf(&b, "# HELP charrnn_active_streams Streams in the batch now.\n# TYPE charrnn_active_streams gauge\n"
                  "charrnn_active_streams %d\n", s->active);
    jb_raw(&b, "# HELP charrnn_completion_seconds Time from a completion's arrival to its last character.\n"
               "# TYPE charrnn_completion_seconds histogram\n");
    for (int k = 0; k < 12; k++)
        jb_printf(&b, "charrnn_completion_seconds_bucket{le=\"%s\"} %ld\n", bounds[k], s->met.hist[k]);
    jb_printf(&b, "charrnn_completion_seconds_sum %.6f\ncharrnn_completion_seconds_count %ld\n", s->met.latency_sum,
              s->met.latency_count);
    pthread_mutex_unlock(&s->mu);
    enum MHD_Result r = b.oom ? send_error(sv, c, EP_METRICS, 500, "out of memory")
                              : send_buf(c, 200, "text/plain; version=0.0.4", b.buf, b.len, NULL);
    jb_free(&b);
    return r;
}

static enum MHD_Result viz(server *sv, struct MHD_Connection *c) {
    const char *text = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "text");
    if (!text || !*text) return send_error(sv, c, EP_VIZ, 400, "/viz needs ?text=...: the text to look inside (URL-encoded)");
    size_t n = strlen(text);
    if (!serve_utf8_valid(text, n)) return send_error(sv, c, EP_VIZ, 400, "the text is not valid UTF-8");
    charrnn_trace *t = NULL;
    charrnn_error e = {0};
    if (charrnn_trace_text(sv->s->m, text, n, "the text", 5000, NULL, NULL, &t, &e))
        return send_error(sv, c, EP_VIZ, 400, e.msg);
    viz_page page = {.title = "charrnn serve: inside the model", .checkpoint = sv->s->model_name, .file = "the request",
                     .start = 0, .unit = sv->s->info.unit, .trace = t};
    jbuf b;
    jb_init(&b);
    viz_write_page(&b, &page);
    charrnn_trace_free(t);
    count(sv, EP_VIZ, b.oom ? 500 : 200);
    enum MHD_Result r = b.oom ? send_buf(c, 500, "text/plain", "out of memory\n", 14, NULL)
                              : send_buf(c, 200, "text/html; charset=utf-8", b.buf, b.len, NULL);
    jb_free(&b);
    return r;
}

/* ---- the handler -------------------------------------------------------------------- */

/* n bytes as they are (NUL bytes too: jb_printf would stop at one) */
static void append_bytes(jbuf *b, const char *p, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *q = realloc(b->buf, cap);
        if (!q) { b->oom = 1; return; }
        b->buf = q;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, p, n);
    b->len += n;
    b->buf[b->len] = 0;
}

static int authorized(server *sv, struct MHD_Connection *c) {
    const char *key = sv->o->api_key;
    if (!key) return 1;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncmp(h, "Bearer ", 7)) return 0;
    h += 7;
    size_t a = strlen(h), k = strlen(key);
    unsigned diff = a != k;
    for (size_t i = 0; i < a && i < k; i++) diff |= (unsigned char)h[i] ^ (unsigned char)key[i];
    return diff == 0;
}

static int route(const char *url) {
    static const char *const paths[] = {"/v1/completions", "/v1/score", "/v1/models", "/health", "/metrics", "/", "/viz"};
    for (int e = 0; e < EP_OTHER; e++)
        if (!strcmp(url, paths[e])) return e;
    return EP_OTHER;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    server *sv = cls;
    conn_ctx *cc = *con_cls;
    if (!cc) { /* the first call: headers only */
        if (!(cc = calloc(1, sizeof *cc))) return MHD_NO;
        jb_init(&cc->body);
        *con_cls = cc;
        return MHD_YES;
    }
    if (*upload_size) { /* a piece of the body */
        if (!cc->too_big && cc->body.len + *upload_size > sv->o->max_body) cc->too_big = 1;
        if (!cc->too_big) append_bytes(&cc->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    int ep = route(url);
    int post = ep == EP_COMPLETIONS || ep == EP_SCORE;
    if (ep == EP_OTHER) return send_error(sv, c, ep, 404, "no such endpoint; see GET /v1/models, POST /v1/completions, POST /v1/score");
    if (strcmp(method, post ? "POST" : "GET"))
        return send_error(sv, c, ep, 405, post ? "use POST with a JSON body" : "use GET");
    if (ep != EP_PAGE && ep != EP_HEALTH && !authorized(sv, c))
        return send_error(sv, c, ep, 401, "a valid API key is needed: Authorization: Bearer KEY");
    if (cc->too_big) {
        char msg[128];
        snprintf(msg, sizeof msg, "the body is over %zu bytes (--max-body)", sv->o->max_body);
        return send_error(sv, c, ep, 413, msg);
    }
    if (cc->body.oom) return send_error(sv, c, ep, 500, "out of memory");
    if (memchr(cc->body.buf ? cc->body.buf : "", 0, cc->body.len))
        return send_error(sv, c, ep, 400, "the body holds a NUL byte; send JSON text");
    switch (ep) {
    case EP_COMPLETIONS: return completions(sv, c, cc);
    case EP_SCORE: return score(sv, c, cc);
    case EP_MODELS: return models(sv, c);
    case EP_HEALTH: return health(sv, c);
    case EP_METRICS: return metrics(sv, c);
    case EP_VIZ: return viz(sv, c);
    default: {
        jbuf b;
        jb_init(&b);
        page_write(&b);
        count(sv, EP_PAGE, b.oom ? 500 : 200);
        enum MHD_Result r = b.oom ? send_buf(c, 500, "text/plain", "out of memory\n", 14, NULL)
                                  : send_buf(c, 200, "text/html; charset=utf-8", b.buf, b.len, NULL);
        jb_free(&b);
        return r;
    }
    }
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    conn_ctx *cc = *con_cls;
    if (!cc) return;
    jb_free(&cc->body);
    free(cc);
    *con_cls = NULL;
}

int serve_http_run(serve_state *s, const serve_opts *o) {
    server sv = {.s = s, .o = o};
    struct sockaddr_storage addr = {0};
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC | MHD_USE_POLL;
    int v6 = strchr(o->host, ':') != NULL;
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&addr;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)o->port);
        if (inet_pton(AF_INET6, o->host, &a->sin6_addr) != 1) cli_die(2, "--host '%s' is not an IPv6 address", o->host);
        flags |= MHD_USE_IPv6;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&addr;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)o->port);
        if (inet_pton(AF_INET, o->host, &a->sin_addr) != 1)
            cli_die(2, "--host '%s' is not an IPv4 address; use a numeric address such as 127.0.0.1 or 0.0.0.0", o->host);
    }
    struct MHD_Daemon *d = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, handle, &sv, MHD_OPTION_SOCK_ADDR, &addr,
                                            MHD_OPTION_NOTIFY_COMPLETED, completed, &sv, MHD_OPTION_CONNECTION_TIMEOUT,
                                            (unsigned)120, MHD_OPTION_THREAD_STACK_SIZE, (size_t)SERVE_THREAD_STACK,
                                            MHD_OPTION_END);
    if (!d) cli_die(1, "cannot listen on %s port %d (in use, or not an address of this machine); try another --port, or --port 0", o->host, o->port);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int port = di ? di->port : o->port;
    printf(v6 ? "listening on http://[%s]:%d\n" : "listening on http://%s:%d\n", o->host, port);
    fflush(stdout);
    while (!sig_stop_requested()) usleep(20000);
    /* drain: no new connections, no new completions; running ones finish within --drain seconds */
    MHD_socket ls = MHD_quiesce_daemon(d);
    if (ls != MHD_INVALID_SOCKET) close(ls);
    pthread_mutex_lock(&s->mu);
    s->draining = 1;
    pthread_mutex_unlock(&s->mu);
    fprintf(stderr, "charrnn serve: %s: not taking new requests; finishing open ones (up to %gs)\n",
            sig_name(sig_stop_requested()), o->drain);
    double end = serve_now() + o->drain;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        int busy = s->active + s->queued;
        pthread_mutex_unlock(&s->mu);
        if (!busy || serve_now() >= end) break;
        usleep(10000);
    }
    sched_stop(s); /* whatever still runs ends now, each stream with its finish and [DONE] */
    /* the streams' last events go out before the connections close (a client that reads nothing gets 5 s) */
    for (end = serve_now() + 5; serve_now() < end;) {
        pthread_mutex_lock(&s->mu);
        int open = s->open_streams;
        pthread_mutex_unlock(&s->mu);
        if (!open) break;
        usleep(10000);
    }
    MHD_stop_daemon(d);
    fprintf(stderr, "charrnn serve: stopped\n");
    return 0;
}
