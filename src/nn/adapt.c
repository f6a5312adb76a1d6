/* adapt.c: learning from the text being read (see adapt.h). */
#include "adapt.h"
#include "common.h"
#include "defaults.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int adapter_init(adapter *a, const model *src, const float *ms0, const adapt_config *cfg, int streams,
                 charrnn_error *err) {
    memset(a, 0, sizeof *a);
    if (cfg->segment < 1 || cfg->segment > 100000)
        return cr_fail(err, CHARRNN_EINVAL, "segment of %d characters is out of range; use 1 to 100000", cfg->segment);
    if (streams < 1 || streams > MAX_BATCH)
        return cr_fail(err, CHARRNN_EINVAL, "%d streams to adapt on is out of range; use 1 to %d", streams, MAX_BATCH);
    if (!(cfg->lr >= 0 && cfg->lr < 10) || !(cfg->decay >= 0 && cfg->decay < 1) || !(cfg->rho > 0 && cfg->rho <= 1) ||
        !(cfg->eps > 0))
        return cr_fail(err, CHARRNN_EINVAL, "adaptation rate %g or decay %g is out of range", cfg->lr, cfg->decay);
    charrnn_model_config mc = src->cfg;
    mc.dropout = 0; /* evaluation: no dropout, so no masks for backward to read */
    int rc = model_init(&a->net, &mc, src->V, err);
    if (rc) return rc;
    memcpy(model_params(&a->net), model_params(src), sizeof(float) * src->num_params);
    model_weights_changed(&a->net);
    /* it adapts where src computes: a network on a GPU adapts there */
    if (model_device(src) >= 0 && (rc = model_use_cuda(&a->net, model_device(src), err))) { adapter_free(a); return rc; }
    if ((rc = model_alloc(&a->net, streams, cfg->segment, 1, err))) { adapter_free(a); return rc; }
    a->ms = cr_malloc(src->num_params, sizeof(float));
    a->theta0 = cfg->decay > 0 ? cr_malloc(src->num_params, sizeof(float)) : NULL;
    if (!a->ms || (cfg->decay > 0 && !a->theta0)) { adapter_free(a); return cr_fail(err, CHARRNN_ENOMEM, "out of memory"); }
    if (ms0) memcpy(a->ms, ms0, sizeof(float) * src->num_params);
    else for (size_t i = 0; i < src->num_params; i++) a->ms[i] = -1.0f; /* unset: the first gradient sets it */
    if (a->theta0) memcpy(a->theta0, model_params(src), sizeof(float) * src->num_params);
    a->cfg = *cfg;
    model_reset_state(&a->net);
    return CHARRNN_OK;
}

void adapter_free(adapter *a) {
    model_free(&a->net);
    free(a->ms);
    free(a->theta0);
    memset(a, 0, sizeof *a);
}

void adapter_set_state(adapter *a, int n, const float *h, const float *c) {
    model_set_states(&a->net, 0, n, h, c);
}

double adapter_step(adapter *a, const int32_t *x, const int32_t *y, int b, int t) {
    model *net = &a->net;
    model_zero_grad(net);
    double loss = model_forward(net, x, y, b, t, 0, NULL);
    if (!isfinite(loss)) return loss;
    model_backward(net, x, y, b, t);
    const adapt_config *c = &a->cfg;
    const float lr = (float)c->lr, rho = (float)c->rho, eps = (float)c->eps, decay = (float)c->decay;
    const float clip = (float)c->clip;
    float *p = model_params(net), *ms = a->ms;
    const float *g = model_grads(net);
    for (size_t i = 0; i < net->num_params; i++) {
        float gi = g[i];
        if (clip > 0) gi = gi > clip ? clip : gi < -clip ? -clip : gi;
        if (!isfinite(gi)) continue; /* a step that cannot be taken is skipped alike on both sides */
        if (ms[i] < 0) ms[i] = gi * gi;
        else if (rho < 1) ms[i] = rho * ms[i] + (1 - rho) * gi * gi;
        p[i] -= lr * gi / (sqrtf(ms[i]) + eps);
        if (decay > 0) p[i] += decay * (a->theta0[i] - p[i]);
    }
    model_weights_changed(net);
    a->updates++;
    return loss;
}
