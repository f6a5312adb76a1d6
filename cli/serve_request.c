/* serve_request.c: the bodies of `charrnn serve`'s POST requests, JSON in, a
 * checked request out (sampling configuration, prompt, stop strings), or one
 * line saying what is wrong. No HTTP here: fuzz/fuzz_request.c calls it. */
#include "serve.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int serve_utf8_valid(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int k = charrnn_utf8_decode(s + i, n - i, &cp);
        if (k == 0) return 0;
        i += (size_t)k;
    }
    return 1;
}

static char *dup_bytes(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) { memcpy(d, s, n); d[n] = 0; }
    return d;
}

/* A number field within [lo, hi] (integral if asked); 1 set, 0 absent or null, -1 error. */
static int get_num(const json_value *o, const char *key, double lo, double hi, int integral, double *out, char *err,
                   size_t errlen) {
    const json_value *v = json_get(o, key);
    if (!v || v->type == JSON_NULL) return 0;
    if (v->type != JSON_NUMBER) {
        snprintf(err, errlen, "'%s' must be a number", key);
        return -1;
    }
    if (!(v->number >= lo && v->number <= hi) || (integral && v->number != floor(v->number))) {
        snprintf(err, errlen, "'%s' is %.17g; use %s from %.17g to %.17g", key, v->number,
                 integral ? "an integer" : "a number", lo, hi);
        return -1;
    }
    *out = v->number;
    return 1;
}

static int get_bool(const json_value *o, const char *key, int *out, char *err, size_t errlen) {
    const json_value *v = json_get(o, key);
    if (!v || v->type == JSON_NULL) return 0;
    if (v->type != JSON_BOOL) {
        snprintf(err, errlen, "'%s' must be true or false", key);
        return -1;
    }
    *out = v->number != 0;
    return 1;
}

/* A string field, strict UTF-8 without NUL; 1 set, 0 absent or null, -1 error. */
static int get_text(const json_value *o, const char *key, const char **s, size_t *n, char *err, size_t errlen) {
    const json_value *v = json_get(o, key);
    if (!v || v->type == JSON_NULL) return 0;
    if (v->type != JSON_STRING) {
        snprintf(err, errlen, "'%s' must be a string", key);
        return -1;
    }
    if (!serve_utf8_valid(v->str, v->len)) {
        snprintf(err, errlen, "'%s' is not valid UTF-8 (a lone surrogate escape, or bytes that are not UTF-8)", key);
        return -1;
    }
    *s = v->str;
    *n = v->len;
    return 1;
}

/* The body as an object whose keys are all among allowed. */
static json_doc *parse_object(const char *body, size_t len, const char *const *allowed, char *err, size_t errlen) {
    char jerr[200];
    json_doc *d = json_parse(body, len, jerr, sizeof jerr);
    if (!d) {
        snprintf(err, errlen, "the body is not valid JSON: %s", jerr);
        return NULL;
    }
    const json_value *r = json_root(d);
    if (r->type != JSON_OBJECT) {
        snprintf(err, errlen, "the body must be a JSON object");
        json_free(d);
        return NULL;
    }
    for (size_t i = 0; i < r->len; i++) {
        int ok = 0;
        for (int k = 0; allowed[k]; k++) ok |= !strcmp(r->keys[i], allowed[k]);
        if (!ok) {
            char shown[64];
            size_t n = 0;
            for (const char *p = r->keys[i]; *p && n < 40; p++) shown[n++] = (*p >= 32 && *p < 127) ? *p : '?';
            shown[n] = 0;
            snprintf(err, errlen, "unknown field '%s'", shown);
            json_free(d);
            return NULL;
        }
    }
    return d;
}

void serve_completion_free(serve_completion *c) {
    free(c->prompt);
    for (int i = 0; i < c->num_stop; i++) free(c->stop[i]);
    memset(c, 0, sizeof *c);
}

static int add_stop(serve_completion *c, const json_value *v, char *err, size_t errlen) {
    if (v->type != JSON_STRING) {
        snprintf(err, errlen, "'stop' must be a string or a list of strings");
        return -1;
    }
    if (v->len == 0 || v->len > SERVE_MAX_STOP_LEN || !serve_utf8_valid(v->str, v->len)) {
        snprintf(err, errlen, "a 'stop' string must be 1 to %d bytes of UTF-8", SERVE_MAX_STOP_LEN);
        return -1;
    }
    if (c->num_stop >= SERVE_MAX_STOPS) {
        snprintf(err, errlen, "'stop' holds at most %d strings", SERVE_MAX_STOPS);
        return -1;
    }
    if (!(c->stop[c->num_stop] = dup_bytes(v->str, v->len))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->stop_len[c->num_stop++] = v->len;
    return 0;
}

int serve_parse_completion(const char *body, size_t len, int max_n, serve_completion *c, char *err, size_t errlen) {
    static const char *const allowed[] = {"model", "prompt", "max_tokens", "temperature", "top_k", "top_p", "min_p",
                                          "repetition_penalty", "stop", "seed", "n", "stream", "user", NULL};
    memset(c, 0, sizeof *c);
    c->max_tokens = 16;
    c->n = 1;
    charrnn_sample_config_default(&c->cfg);
    json_doc *d = parse_object(body, len, allowed, err, errlen);
    if (!d) return -1;
    const json_value *r = json_root(d);
    const char *prompt = "";
    size_t plen = 0;
    double v;
    int rc = 0, b = 0;
    const json_value *pv = json_get(r, "prompt");
    if (pv && pv->type == JSON_ARRAY) { /* OpenAI's batch of prompts: one, here */
        if (pv->len != 1) { snprintf(err, errlen, "'prompt' as a list must hold exactly one string"); goto fail; }
        pv = &pv->items[0];
    }
    if (pv && pv->type != JSON_NULL) {
        if (pv->type != JSON_STRING) { snprintf(err, errlen, "'prompt' must be a string"); goto fail; }
        if (!serve_utf8_valid(pv->str, pv->len)) {
            snprintf(err, errlen, "'prompt' is not valid UTF-8 (a lone surrogate escape, or bytes that are not UTF-8)");
            goto fail;
        }
        prompt = pv->str;
        plen = pv->len;
    }
    if (!(c->prompt = dup_bytes(prompt, plen))) { snprintf(err, errlen, "out of memory"); goto fail; }
    c->prompt_len = plen;
    if ((rc = get_num(r, "max_tokens", 0, SERVE_MAX_TOKENS, 1, &v, err, errlen)) < 0) goto fail;
    if (rc) c->max_tokens = (long)v;
    if ((rc = get_num(r, "temperature", 0, 1e6, 0, &v, err, errlen)) < 0) goto fail;
    if (rc) c->cfg.temperature = (float)v;
    if ((rc = get_num(r, "top_k", 0, 1e9, 1, &v, err, errlen)) < 0) goto fail;
    if (rc) c->cfg.top_k = (int)v;
    if ((rc = get_num(r, "top_p", 0, 1, 0, &v, err, errlen)) < 0) goto fail;
    if (rc) c->cfg.top_p = (float)v;
    if ((rc = get_num(r, "min_p", 0, 1, 0, &v, err, errlen)) < 0) goto fail;
    if (rc) c->cfg.min_p = (float)v;
    if ((rc = get_num(r, "repetition_penalty", 1, 1e6, 0, &v, err, errlen)) < 0) goto fail;
    if (rc) c->cfg.repetition_penalty = (float)v;
    if ((rc = get_num(r, "seed", 0, 9007199254740991.0, 1, &v, err, errlen)) < 0) goto fail;
    if (rc) { c->seed = (uint64_t)v; c->has_seed = 1; }
    if ((rc = get_num(r, "n", 1, max_n < SERVE_MAX_N ? max_n : SERVE_MAX_N, 1, &v, err, errlen)) < 0) goto fail;
    if (rc) c->n = (int)v;
    if (get_bool(r, "stream", &b, err, errlen) < 0) goto fail;
    c->stream = b;
    const json_value *sv = json_get(r, "stop");
    if (sv && sv->type == JSON_ARRAY) {
        for (size_t i = 0; i < sv->len; i++)
            if (add_stop(c, &sv->items[i], err, errlen)) goto fail;
    } else if (sv && sv->type != JSON_NULL && add_stop(c, sv, err, errlen)) {
        goto fail;
    }
    const json_value *mv = json_get(r, "model"), *uv = json_get(r, "user");
    if ((mv && mv->type != JSON_STRING && mv->type != JSON_NULL) || (uv && uv->type != JSON_STRING && uv->type != JSON_NULL)) {
        snprintf(err, errlen, "'model' and 'user' must be strings");
        goto fail;
    }
    charrnn_error e = {0};
    if (charrnn_sample_config_check(&c->cfg, &e)) { /* the library's own limits (temperature 0 or >= 1e-6, top_p > 0) */
        snprintf(err, errlen, "%s", e.msg);
        goto fail;
    }
    json_free(d);
    return 0;
fail:
    json_free(d);
    serve_completion_free(c);
    return -1;
}

void serve_score_free(serve_score *s) {
    free(s->text);
    memset(s, 0, sizeof *s);
}

int serve_parse_score(const char *body, size_t len, serve_score *s, char *err, size_t errlen) {
    static const char *const allowed[] = {"model", "text", "logprobs", "top_k", NULL};
    memset(s, 0, sizeof *s);
    s->top_k = 5;
    json_doc *d = parse_object(body, len, allowed, err, errlen);
    if (!d) return -1;
    const json_value *r = json_root(d);
    const char *text = NULL;
    size_t n = 0;
    double v;
    int rc;
    if ((rc = get_text(r, "text", &text, &n, err, errlen)) < 0) goto fail;
    if (!rc) { snprintf(err, errlen, "'text' is required: the text to score"); goto fail; }
    if (get_bool(r, "logprobs", &s->logprobs, err, errlen) < 0) goto fail;
    if ((rc = get_num(r, "top_k", 0, SERVE_MAX_TOP, 1, &v, err, errlen)) < 0) goto fail;
    if (rc) s->top_k = (int)v;
    const json_value *mv = json_get(r, "model");
    if (mv && mv->type != JSON_STRING && mv->type != JSON_NULL) { snprintf(err, errlen, "'model' must be a string"); goto fail; }
    if (!(s->text = dup_bytes(text, n))) { snprintf(err, errlen, "out of memory"); goto fail; }
    s->len = n;
    json_free(d);
    return 0;
fail:
    json_free(d);
    serve_score_free(s);
    return -1;
}
