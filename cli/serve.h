/* serve.h: `charrnn serve`, an HTTP server for a model (cli/cmd_serve.c). Its
 * parts: the request parser (serve_request.c: JSON body -> what to sample or
 * score, no HTTP, so a fuzzer calls it), the scheduler (serve_sched.c: one
 * thread steps every running completion as one batch, requests join and leave
 * between characters), and the HTTP face (serve_http.c, on libmicrohttpd). */
#ifndef CHARRNN_SERVE_H
#define CHARRNN_SERVE_H

#include "charrnn.h"
#include "json.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* ---- requests (serve_request.c) ------------------------------------------------ */
#define SERVE_MAX_STOPS 4
#define SERVE_MAX_STOP_LEN 256
#define SERVE_MAX_TOKENS 100000
#define SERVE_MAX_N 64
#define SERVE_MAX_TOP 100
#define SERVE_BACKLOG 65536 /* bytes a stream may draw ahead of what its client has taken */
/* A connection's thread stack: glibc keeps freed stacks for reuse up to 40 MiB in all, so with
 * its default 8 MiB a busy server mapped and unmapped a stack (page faults, TLB shootdowns) for
 * nearly every connection. The handlers keep their buffers on the heap. */
#define SERVE_THREAD_STACK (1 << 20)

/* POST /v1/completions, parsed and checked. */
typedef struct serve_completion {
    char *prompt;                 /* UTF-8, checked; "" when none */
    size_t prompt_len;
    long max_tokens;              /* characters to draw (default 16, as OpenAI's) */
    charrnn_sample_config cfg;
    uint64_t seed;
    int has_seed;
    int n;                        /* choices, each from seed + index */
    int stream;
    char *stop[SERVE_MAX_STOPS];
    size_t stop_len[SERVE_MAX_STOPS];
    int num_stop;
} serve_completion;

/* POST /v1/score. */
typedef struct serve_score {
    char *text;
    size_t len;
    int logprobs;                 /* per-character log-probabilities in the answer */
    int top_k;                    /* next characters after the text (default 5) */
} serve_score;

/* Parse and check a request body: 0, or -1 with a one-line message in err
 * (a 400 for the client). max_n: the batch size (n may not exceed it). */
int serve_parse_completion(const char *body, size_t len, int max_n, serve_completion *out, char *err, size_t errlen);
void serve_completion_free(serve_completion *c);
int serve_parse_score(const char *body, size_t len, serve_score *out, char *err, size_t errlen);
void serve_score_free(serve_score *s);
/* Whether s[0..n) is strict UTF-8. */
int serve_utf8_valid(const char *s, size_t n);

/* ---- the scheduler (serve_sched.c) ----------------------------------------------- */
typedef struct serve_choice {
    jbuf text;                    /* drawn so far, UTF-8 (the stop string cut off once found) */
    size_t sent;                  /* bytes of text a stream has sent */
    long drawn;
    int slot;                     /* its stream in the batch, -1 when none */
    const char *finish;           /* NULL while running: "length" or "stop" */
    int final_sent;               /* a stream sent its finish_reason */
} serve_choice;

enum { REQ_QUEUED, REQ_RUNNING, REQ_DONE };

typedef struct serve_job {
    serve_completion p;
    serve_choice ch[SERVE_MAX_N];
    int state;
    int cancelled;                /* the client went away: its streams leave the batch */
    int refs;                     /* the connection's and the scheduler's */
    long skipped;                 /* prompt characters outside the vocabulary */
    uint32_t skipped_examples[8];
    int num_examples;
    char error[768];              /* set when priming or a step failed */
    double t_start, t_first;      /* seconds (monotonic): arrival, first character */
    double t_woken;               /* when its connection was last woken */
    pthread_cond_t cv;            /* its connection waits here (for its state, then its text) */
    int wake_pending;             /* the scheduler wakes it once the step's bookkeeping is done */
    struct serve_job *next;       /* the queue */
} serve_job;

typedef struct serve_metrics {
    long requests[8];             /* by endpoint, see serve_http.c */
    long errors[8];               /* by status, see serve_http.c */
    long chars;
    long hist[12];                /* completion latency buckets, SERVE_BUCKETS */
    double latency_sum;
    long latency_count;
} serve_metrics;

typedef struct serve_state {
    charrnn_model *m;
    charrnn_model_info info;
    const char *model_name;       /* the checkpoint's file name */
    int max_batch, max_queue;
    double stream_interval;       /* seconds: a running stream's connection is woken at most this often */
    pthread_mutex_t mu;
    pthread_cond_t work;          /* the scheduler waits for work */
    serve_job *queue_head, *queue_tail;
    int queued, active;
    int open_streams;             /* event streams not yet sent to the end (serve_http.c) */
    serve_job **slots;            /* (max_batch) the job each batch stream serves */
    int *slot_choice;
    int draining, quit;           /* stop taking; the scheduler ends every job and leaves */
    serve_metrics met;
    pthread_t thread;
    charrnn_sampler *sampler;

} serve_state;

int sched_start(serve_state *s, char *err, size_t errlen);
/* Enqueue a job (refs: the caller's and the scheduler's): 0, or -1 when the queue is full or the server is draining. */
int sched_submit(serve_state *s, serve_job *j);
/* Drops the caller's reference (and marks the job cancelled when it is not done). */
void sched_release(serve_state *s, serve_job *j);
/* Every running and queued job ends now (finish_reason "length"), then the thread leaves. */
void sched_stop(serve_state *s);
double serve_now(void);
/* The safe length of a choice's text to send: no half code point, nothing that may yet become a stop string. */
size_t sched_sendable(const serve_job *j, const serve_choice *c);

/* ---- HTTP (serve_http.c) -------------------------------------------------------- */
typedef struct serve_opts {
    const char *host;
    int port;
    const char *api_key;
    size_t max_body;
    double drain;
} serve_opts;
/* Runs until a stop signal: prints "listening on http://HOST:PORT", serves, drains. 0 or 1. */
int serve_http_run(serve_state *s, const serve_opts *o);

#endif
