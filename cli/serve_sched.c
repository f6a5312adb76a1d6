/* serve_sched.c: continuous batching for `charrnn serve`. One thread owns the
 * sampler (max_batch streams): between characters it takes queued requests into
 * free streams (lowest first, so a request alone runs as stream 0: exactly what
 * `charrnn sample` draws), lets finished and abandoned ones go, and steps every
 * running stream as one batch (charrnn_sampler_step). Each connection waits on
 * its job's own condition variable, and only its own news wakes it: waking a
 * connection costs a thread switch, an event and a write, more than a step of a
 * small model, so a running stream's connection is woken at most every
 * --stream-interval (default 2 ms; with more than 8 streams running, streams / 8
 * times that, so that the connections are woken at most 8 times per interval in
 * all) and sends what was drawn since in one event; a first character, an end,
 * a state change or an idle batch wakes it at once. */
#include "serve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double serve_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* The longest k < stop length such that the text ends with the stop string's first k bytes. */
static size_t stop_overlap(const char *t, size_t n, const char *stop, size_t sl) {
    for (size_t k = sl - 1 < n ? sl - 1 : n; k > 0; k--)
        if (!memcmp(t + n - k, stop, k)) return k;
    return 0;
}

size_t sched_sendable(const serve_job *j, const serve_choice *c) {
    size_t n = c->text.len;
    if (!c->finish) {
        size_t hold = 0;
        for (int i = 0; i < j->p.num_stop; i++) {
            size_t k = stop_overlap(c->text.buf, n, j->p.stop[i], j->p.stop_len[i]);
            if (k > hold) hold = k;
        }
        n -= hold;
    }
    /* never end inside a code point (byte models draw bytes; a stop cut can too) */
    size_t back = 0;
    while (back < 4 && back < n && ((unsigned char)c->text.buf[n - 1 - back] & 0xC0) == 0x80) back++;
    if (back < n) {
        unsigned char lead = (unsigned char)c->text.buf[n - 1 - back];
        size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        if (lead >= 0xC0 && back + 1 < need && !c->finish) n -= back + 1;
    }
    return n < c->sent ? c->sent : n;
}

/* Wakes the job's connection (the lock is held). */
static void job_wake(serve_job *j) {
    j->t_woken = serve_now();
    pthread_cond_signal(&j->cv);
}

/* Marks a running job's connection to be woken after the step's bookkeeping,
 * once the lock is let go: a thread woken while the lock is held wakes only to
 * wait for the lock, two thread switches instead of one. */
static void job_wake_later(serve_job *j, double now) {
    j->t_woken = now;
    j->wake_pending = 1;
}

static void finish_choice(serve_state *s, serve_job *j, serve_choice *c, const char *why) {
    c->finish = why;
    job_wake(j);
    if (c->slot >= 0) {
        s->slots[c->slot] = NULL;
        s->active--;
        c->slot = -1;
    }
}

static int job_running(const serve_job *j) {
    for (int i = 0; i < j->p.n; i++)
        if (!j->ch[i].finish) return 1;
    return 0;
}

static void job_done(serve_state *s, serve_job *j) {
    j->state = REQ_DONE;
    job_wake(j);
    double dt = serve_now() - j->t_start;
    static const double bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    for (int b = 0; b < 11; b++)
        if (dt <= bounds[b]) s->met.hist[b]++;
    s->met.hist[11]++;
    s->met.latency_sum += dt;
    s->met.latency_count++;
}

static void unref(serve_job *j) {
    if (--j->refs == 0) {
        serve_completion_free(&j->p);
        for (int i = 0; i < SERVE_MAX_N; i++) jb_free(&j->ch[i].text);
        pthread_cond_destroy(&j->cv);
        free(j);
    }
}

/* Starts a queued job in free streams (the lock is held; priming runs under it: the batch waits). */
static void admit(serve_state *s, serve_job *j) {
    charrnn_error err = {0};
    for (int i = 0; i < j->p.n; i++) {
        int slot = 0;
        while (s->slots[slot]) slot++;
        serve_choice *c = &j->ch[i];
        if (charrnn_sampler_stream_reset(s->sampler, slot, j->p.seed + (uint64_t)i, &j->p.cfg, &err) ||
            charrnn_sampler_stream_prime(s->sampler, slot, j->p.prompt, j->p.prompt_len, &j->skipped,
                                         j->skipped_examples, 8, &j->num_examples, &err)) {
            snprintf(j->error, sizeof j->error, "%s", err.msg);
            for (int k = 0; k < j->p.n; k++)
                if (!j->ch[k].finish) finish_choice(s, j, &j->ch[k], "error");
            return;
        }
        s->slots[slot] = j;
        s->slot_choice[slot] = i;
        c->slot = slot;
        s->active++;
        if (j->p.max_tokens == 0) finish_choice(s, j, c, "length");
    }
}

/* Appends character ch to choice c and ends it on a stop string or max_tokens. */
static void take_char(serve_state *s, serve_job *j, serve_choice *c, uint32_t ch) {
    char u[4];
    int k;
    if (s->info.unit == CHARRNN_UNIT_BYTE) { u[0] = (char)ch; k = 1; }
    else k = charrnn_utf8_encode(ch, u);
    size_t before = c->text.len;
    jb_printf(&c->text, "%.*s", k, u);
    if (c->text.oom) { finish_choice(s, j, c, "length"); return; }
    c->drawn++;
    s->met.chars++;
    if (j->t_first == 0) j->t_first = serve_now();
    if (c->drawn == 1) job_wake_later(j, serve_now()); /* the first character goes out at once */
    for (int i = 0; i < j->p.num_stop; i++) {
        size_t sl = j->p.stop_len[i];
        /* a stop string that ends within the bytes just added */
        for (size_t end = before + 1; end <= c->text.len; end++)
            if (end >= sl && !memcmp(c->text.buf + end - sl, j->p.stop[i], sl)) {
                c->text.len = end - sl;
                c->text.buf[c->text.len] = 0;
                finish_choice(s, j, c, "stop");
                return;
            }
    }
    if (c->drawn >= j->p.max_tokens) finish_choice(s, j, c, "length");
}

static void *sched_main(void *arg) {
    serve_state *s = arg;
    unsigned char *active = calloc((size_t)s->max_batch, 1);
    uint32_t *out = calloc((size_t)s->max_batch, sizeof(uint32_t));
    int stepped = 0; /* a step since the batch last idled: connections may have text to take */
    pthread_mutex_lock(&s->mu);
    for (;;) {
        /* abandoned jobs leave; queued ones join while there is room */
        for (int k = 0; k < s->max_batch; k++) {
            serve_job *j = s->slots[k];
            if (!j || !j->cancelled) continue;
            finish_choice(s, j, &j->ch[s->slot_choice[k]], "cancelled");
            if (!job_running(j)) { job_done(s, j); unref(j); } /* its last stream: the scheduler's reference goes */
        }
        while (s->queue_head && (s->queue_head->cancelled || s->queue_head->p.n <= s->max_batch - s->active)) {
            serve_job *j = s->queue_head;
            s->queue_head = j->next;
            if (!s->queue_head) s->queue_tail = NULL;
            s->queued--;
            j->state = REQ_RUNNING;
            job_wake(j);
            if (!j->cancelled) admit(s, j);
            else for (int i = 0; i < j->p.n; i++) j->ch[i].finish = "cancelled";
            if (!job_running(j)) { job_done(s, j); unref(j); }
        }
        if (s->quit) break;
        /* a stream whose client has not taken its text waits (backpressure: memory stays bounded) */
        int runnable = 0;
        for (int k = 0; k < s->max_batch; k++) {
            serve_job *j = s->slots[k];
            active[k] = j && !(j->p.stream && j->ch[s->slot_choice[k]].text.len - j->ch[s->slot_choice[k]].sent > SERVE_BACKLOG);
            runnable += active[k];
        }
        if (runnable == 0) {
            if (stepped) /* nothing left unsent while the batch idles */
                for (int k = 0; k < s->max_batch; k++)
                    if (s->slots[k]) job_wake(s->slots[k]);
            stepped = 0;
            pthread_cond_wait(&s->work, &s->mu);
            continue;
        }
        pthread_mutex_unlock(&s->mu);
        charrnn_error err = {0};
        int rc = charrnn_sampler_step(s->sampler, active, out, &err);
        pthread_mutex_lock(&s->mu);
        stepped = 1;
        double now = serve_now(), interval = s->stream_interval * (runnable > 8 ? runnable / 8.0 : 1);
        for (int k = 0; k < s->max_batch; k++) {
            serve_job *j = s->slots[k];
            if (!j || !active[k]) continue;
            serve_choice *c = &j->ch[s->slot_choice[k]];
            if (rc) {
                snprintf(j->error, sizeof j->error, "%s", err.msg);
                finish_choice(s, j, c, "error");
            } else {
                take_char(s, j, c, out[k]);
            }
            if (!job_running(j)) { job_done(s, j); unref(j); }
            else if (now - j->t_woken >= interval) job_wake_later(j, now);
        }
        /* only this thread changes the slots, and a job in one holds its reference: safe unlocked */
        pthread_mutex_unlock(&s->mu);
        for (int k = 0; k < s->max_batch; k++) {
            serve_job *j = s->slots[k];
            if (j && j->wake_pending) {
                j->wake_pending = 0;
                pthread_cond_signal(&j->cv);
            }
        }
        pthread_mutex_lock(&s->mu);
    }
    /* quitting: everything still running or queued ends here, as it is */
    for (int k = 0; k < s->max_batch; k++) {
        serve_job *j = s->slots[k];
        if (!j) continue;
        finish_choice(s, j, &j->ch[s->slot_choice[k]], "length");
        if (!job_running(j)) { job_done(s, j); unref(j); }
    }
    while (s->queue_head) {
        serve_job *j = s->queue_head;
        s->queue_head = j->next;
        s->queued--;
        for (int i = 0; i < j->p.n; i++) j->ch[i].finish = "length";
        job_done(s, j);
        unref(j);
    }
    s->queue_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    free(active);
    free(out);
    return NULL;
}

int sched_start(serve_state *s, char *err, size_t errlen) {
    charrnn_error e = {0};
    if (charrnn_sampler_open(&s->sampler, s->m, s->max_batch, 0, &e)) {
        snprintf(err, errlen, "%s", e.msg);
        return -1;
    }
    s->slots = calloc((size_t)s->max_batch, sizeof *s->slots);
    s->slot_choice = calloc((size_t)s->max_batch, sizeof(int));
    if (!s->slots || !s->slot_choice) { snprintf(err, errlen, "out of memory"); return -1; }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->work, NULL);
    if (pthread_create(&s->thread, NULL, sched_main, s)) { snprintf(err, errlen, "cannot start a thread"); return -1; }
    return 0;
}

int sched_submit(serve_state *s, serve_job *j) {
    pthread_mutex_lock(&s->mu);
    if (s->draining || s->quit || s->queued >= s->max_queue + (s->active + j->p.n <= s->max_batch && !s->queued)) {
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    j->refs = 2;
    j->state = REQ_QUEUED;
    pthread_cond_init(&j->cv, NULL);
    j->t_start = serve_now();
    for (int i = 0; i < j->p.n; i++) j->ch[i].slot = -1;
    j->next = NULL;
    if (s->queue_tail) s->queue_tail->next = j;
    else s->queue_head = j;
    s->queue_tail = j;
    s->queued++;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

void sched_release(serve_state *s, serve_job *j) {
    pthread_mutex_lock(&s->mu);
    if (j->state != REQ_DONE) {
        j->cancelled = 1;
        pthread_cond_signal(&s->work);
    }
    unref(j);
    pthread_mutex_unlock(&s->mu);
}

void sched_stop(serve_state *s) {
    pthread_mutex_lock(&s->mu);
    s->quit = 1;
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    charrnn_sampler_close(s->sampler);
    free(s->slots);
    free(s->slot_choice);
}
