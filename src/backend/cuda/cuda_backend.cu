/* cuda_backend.cu: the CUDA backend (backend.h), float32 on one GPU. Its memory:
 * parameters and gradients in one device allocation, activations in another, and
 * host mirrors of the parameters (fetched when read), the gradients and the last
 * forward's logits and probabilities; the optimizer's moments on the device. Its
 * passes follow the CPU's (cpu_passes.c, cells.c) step for step: the input
 * projection of all T steps as one cuBLAS product per layer (layer 0 a column
 * gather: the input is one-hot), the recurrent product per step, the cells'
 * elementwise math as one fused kernel per step with the CPU's formulas and gate
 * order, the decoder as one product, softmax and cross-entropy one block per row.
 * Every reduction has a fixed order (no atomics), so a rerun is bit for bit.
 * A failing CUDA or cuBLAS call is kept as the model's error (cuda_check) and
 * every later operation does nothing; nothing here aborts or prints.
 * Dropout masks come from Philox (philox.h) in a kernel, the same bits the CPU
 * draws, from one key per forward.
 * The optimizer is a kernel per rule (optim_rules.h, the CPU's formulas) with
 * the moments on the device, weight decay one more per range of weights; the gradients' norm and clipping stay there too,
 * and the parameters come to the host mirror only when read.
 * Three variants (cuda_table.c) differ only in their products' arithmetic:
 * float32, or TF32 or bf16 tensor cores on the same float32 memory.
 * TODO (issue 19): CUDA graphs. */
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "common.h"
#include "cuda_backend.h"
#include "optim.h"
#include "philox.h"
}

#define THREADS 256
#define NORM_BLOCKS 256

typedef struct cuda_layer {
    float *gates;  /* (T, B, G*H): projections + biases, then the activated gates */
    float *h;      /* (T+1, b, H): h[0] the carried state */
    float *c;      /* (T+1, b, H): LSTM only */
    float *tc;     /* (T, b, H): LSTM tanh(c[t+1]) */
    float *bias;   /* (G*H): b_ih + b_hh (GRU: b_hh only for r, z) */
    float *hn;     /* (T, b, H): GRU's W_hn h + b_hn */
    float *mask;   /* (T, b, H): dropout mask (train with dropout), else NULL */
    float *out;    /* (T, b, H): output after dropout, else NULL */
} cuda_layer;

typedef struct cuda_state {
    int device;
    cublasHandle_t blas;
    cublasComputeType_t compute; /* the products' arithmetic: the variant's (cuda_set_variant) */
    int failed;
    charrnn_error err;       /* the first failure */
    int owns_params;
    float *d_params, *d_grads;  /* one allocation (grads right after params), the owner's */
    float *h_params;            /* host mirror of the parameters (the owner's), fetched when read */
    struct cuda_state *owner;   /* whose parameters these are: this state, or a view's owner */
    int mirror_stale;           /* the owner's: the device's parameters moved past h_params */
    float *d_m1, *d_m2;         /* the optimizer's moments (the owner's, one allocation), or NULL */
    const optim *moments_of;    /* the optimizer whose moments d_m1 and d_m2 hold */
    int norm_fresh;             /* partial[NORM_BLOCKS] is the norm of the gradients as they are */
    float *h_grads;             /* host copy of the gradients, refreshed on demand */
    /* activations, one allocation */
    float *d_act;
    cuda_layer a[MAX_LAYERS];
    float *logits, *probs;      /* (T, B, V) */
    float *state_h, *state_c;   /* (L, B, H) */
    float *scratch;             /* (B, G*H): GRU's h W_hh^T */
    float *ones;                /* (T*B) */
    float *dgates, *dgates_h;   /* (T, B, G*H) */
    float *dseq[2];             /* (T, B, H) */
    float *dh, *dc;             /* (B, H) */
    float *dw0t;                /* (V, G*H): layer 0's input-weight gradient, transposed */
    int32_t *x, *y;             /* (T*B) */
    double *rowloss;            /* (T*B) */
    double *partial;            /* (NORM_BLOCKS) then the norm */
    /* host */
    float *h_logits, *h_probs;  /* mirrors of the last forward's rows */
    int logits_fresh, probs_fresh;
    double *h_rowloss;
    int last_b, last_t, last_dropout;
    int sync;                   /* CHARRNN_CUDA_SYNC=1: wait after every kernel (exact error sites) */
} cuda_state;

static cuda_state *st(const model *m) { return (cuda_state *)m->be; }

static int selected_device = 0;

/* ---- errors ---- */

static int fail(cuda_state *s, const char *what, const char *why) {
    if (!s->failed) {
        s->failed = 1;
        cr_fail(&s->err, CHARRNN_EIO, "the GPU failed in %s: %s", what, why);
    }
    return -1;
}

static int ck(cuda_state *s, cudaError_t e, const char *what) {
    if (e == cudaSuccess) return 0;
    cudaGetLastError(); /* clear a non-sticky error */
    return fail(s, what, cudaGetErrorString(e));
}

static const char *blas_status(cublasStatus_t st_) {
    switch (st_) {
    case CUBLAS_STATUS_NOT_INITIALIZED: return "cuBLAS not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED: return "cuBLAS allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE: return "cuBLAS invalid value";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "cuBLAS architecture mismatch";
    case CUBLAS_STATUS_MAPPING_ERROR: return "cuBLAS mapping error";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "cuBLAS execution failed";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "cuBLAS internal error";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "cuBLAS not supported";
    default: return "cuBLAS error";
    }
}

static int cb(cuda_state *s, cublasStatus_t e, const char *what) {
    return e == CUBLAS_STATUS_SUCCESS ? 0 : fail(s, what, blas_status(e));
}

/* after a kernel launch: its configuration error, or with sync every error */
static int launched(cuda_state *s, const char *what) {
    if (ck(s, cudaGetLastError(), what)) return -1;
    return s->sync ? ck(s, cudaDeviceSynchronize(), what) : 0;
}

#define TRY(x) do { if (x) return -1; } while (0)

static unsigned blocks(size_t n) {
    size_t b = (n + THREADS - 1) / THREADS;
    return (unsigned)(b < 65535 ? (b ? b : 1) : 65535); /* the kernels stride over the rest */
}

#define FOR_EACH(i, n) for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

/* ---- kernels: the cells (cells.c's formulas, element for element) ---- */

__device__ static float sigmoidf_(float x) { return 1.0f / (1.0f + expf(-x)); }

__global__ void k_lstm_forward(float *g, const float *bias, const float *c_prev, float *c, float *tc, float *h,
                               int b, int H) {
    FOR_EACH(i, (size_t)b * H) {
        const size_t r = i / H, j = i % H;
        float *gi = g + r * 4 * H, *gf = gi + H, *gg = gi + 2 * H, *go = gi + 3 * H;
        float ii = sigmoidf_(gi[j] + bias[j]), f = sigmoidf_(gf[j] + bias[H + j]), gt = tanhf(gg[j] + bias[2 * H + j]),
              o = sigmoidf_(go[j] + bias[3 * H + j]);
        gi[j] = ii; gf[j] = f; gg[j] = gt; go[j] = o;
        float cn = f * c_prev[i] + ii * gt, t = tanhf(cn);
        c[i] = cn;
        tc[i] = t;
        h[i] = o * t;
    }
}

__global__ void k_lstm_backward(float *dgates, const float *dh, float *dc, const float *dout, const float *g,
                                const float *c_prev, const float *tc, int b, int H) {
    FOR_EACH(i, (size_t)b * H) {
        const size_t r = i / H, j = i % H;
        const float *gi = g + r * 4 * H;
        float *di = dgates + r * 4 * H;
        float ii = gi[j], f = gi[H + j], gt = gi[2 * H + j], o = gi[3 * H + j];
        float dht = dout[i] + dh[i];
        float t = tc[i];
        float dct = dc[i] + dht * o * (1.0f - t * t);
        di[j] = dct * gt * ii * (1.0f - ii);
        di[H + j] = dct * c_prev[i] * f * (1.0f - f);
        di[2 * H + j] = dct * ii * (1.0f - gt * gt);
        di[3 * H + j] = dht * t * o * (1.0f - o);
        dc[i] = dct * f;
    }
}

__global__ void k_gru_forward(float *gx, const float *bias, const float *gh, const float *b_hn, const float *h_prev,
                              float *hn, float *h, int b, int H) {
    FOR_EACH(i, (size_t)b * H) {
        const size_t r = i / H, j = i % H;
        float *xr = gx + r * 3 * H, *xz = xr + H, *xn = xr + 2 * H;
        const float *hr_ = gh + r * 3 * H, *hz = hr_ + H, *hnn = hr_ + 2 * H;
        float rg = sigmoidf_(xr[j] + bias[j] + hr_[j]);
        float z = sigmoidf_(xz[j] + bias[H + j] + hz[j]);
        float hnj = hnn[j] + b_hn[j];
        float n = tanhf(xn[j] + bias[2 * H + j] + rg * hnj);
        xr[j] = rg; xz[j] = z; xn[j] = n;
        hn[i] = hnj;
        h[i] = (1.0f - z) * n + z * h_prev[i];
    }
}

__global__ void k_gru_backward(float *dgx, float *dgh, float *dh, const float *dout, const float *g, const float *hn,
                               const float *h_prev, int b, int H) {
    FOR_EACH(i, (size_t)b * H) {
        const size_t r = i / H, j = i % H;
        const float *gr = g + r * 3 * H;
        float *dx = dgx + r * 3 * H, *dhh = dgh + r * 3 * H;
        float rg = gr[j], z = gr[H + j], n = gr[2 * H + j];
        float dht = dout[i] + dh[i];
        float dn_pre = dht * (1.0f - z) * (1.0f - n * n);
        float dz_pre = dht * (h_prev[i] - n) * z * (1.0f - z);
        float dr_pre = dn_pre * hn[i] * rg * (1.0f - rg);
        dx[j] = dr_pre; dx[H + j] = dz_pre; dx[2 * H + j] = dn_pre;
        dhh[j] = dr_pre; dhh[H + j] = dz_pre; dhh[2 * H + j] = dn_pre * rg;
        dh[i] = dht * z;
    }
}

__global__ void k_rnn_forward(const float *g, const float *bias, float *h, int b, int H) {
    FOR_EACH(i, (size_t)b * H) h[i] = tanhf(g[i] + bias[i % H]);
}

__global__ void k_rnn_backward(float *dgates, const float *dh, const float *dout, const float *h, int b, int H) {
    FOR_EACH(i, (size_t)b * H) dgates[i] = (dout[i] + dh[i]) * (1.0f - h[i] * h[i]);
}

/* ---- kernels: the rest of the passes ---- */

/* layer 0's projection of a one-hot input: gates[row] = column x[row] of W_ih (GH x V) */
__global__ void k_gather_columns(float *gates, const float *w_ih, const int32_t *x, size_t rows, int GH, int V) {
    FOR_EACH(i, rows * GH) {
        const size_t row = i / GH, j = i % GH;
        gates[i] = w_ih[j * V + x[row]];
    }
}

__global__ void k_bias_sum(float *bias, const float *b_ih, const float *b_hh, int GH, int nb_hh) {
    FOR_EACH(j, (size_t)GH) bias[j] = b_ih[j] + ((int)j < nb_hh ? b_hh[j] : 0.0f);
}

__global__ void k_rows_of(float *out, const float *row, size_t rows, int V) {
    FOR_EACH(i, rows * V) out[i] = row[i % V];
}

/* dropout of layer l's output h (n elements): its mask from Philox (philox.h, as the
 * CPU draws it), four elements a thread, and out = h * mask */
__global__ void k_dropout(float *mask, float *out, const float *h, uint64_t key, int l, float keep, float scale, size_t n) {
    FOR_EACH(q, (n + 3) / 4) {
        float mk[4];
        dropout_mask4(key, l, q, keep, scale, mk);
        for (size_t i = 4 * q; i < 4 * q + 4 && i < n; i++) {
            mask[i] = mk[i - 4 * q];
            out[i] = h[i] * mask[i];
        }
    }
}

/* out = a * b (out may be a) */
__global__ void k_mul(float *out, const float *a, const float *b, size_t n) {
    FOR_EACH(i, n) out[i] = a[i] * b[i];
}

__global__ void k_fill(float *x, float v, size_t n) {
    FOR_EACH(i, n) x[i] = v;
}

__global__ void k_scale(float *x, float w, size_t n) {
    FOR_EACH(i, n) x[i] *= w;
}

/* Softmax of one row per block, and the row's cross-entropy (max - z_y) + log(sum)
 * in double when y is given. Tree reductions of fixed shape: deterministic. */
__global__ void k_softmax_xent(float *probs, const float *logits, const int32_t *y, double *rowloss, int V) {
    __shared__ float red[THREADS];
    const size_t row = blockIdx.x;
    const float *z = logits + row * V;
    float *p = probs + row * V;
    const int tid = threadIdx.x;
    float mx = z[0];
    for (int v = tid; v < V; v += THREADS) mx = z[v] > mx ? z[v] : mx;
    red[tid] = mx;
    __syncthreads();
    for (int w = THREADS / 2; w > 0; w /= 2) {
        if (tid < w) red[tid] = red[tid + w] > red[tid] ? red[tid + w] : red[tid];
        __syncthreads();
    }
    mx = red[0];
    __syncthreads();
    float sum = 0.0f;
    for (int v = tid; v < V; v += THREADS) {
        p[v] = expf(z[v] - mx);
        sum += p[v];
    }
    red[tid] = sum;
    __syncthreads();
    for (int w = THREADS / 2; w > 0; w /= 2) {
        if (tid < w) red[tid] += red[tid + w];
        __syncthreads();
    }
    sum = red[0];
    const float inv = 1.0f / sum;
    for (int v = tid; v < V; v += THREADS) p[v] *= inv;
    if (tid == 0 && y) rowloss[row] = ((double)mx - (double)z[y[row]]) + log((double)sum);
}

/* dlogits = (probs - onehot(y)) / rows, in place */
__global__ void k_xent_backward(float *d, const int32_t *y, size_t rows, int V, float scale) {
    FOR_EACH(i, rows * V) {
        const size_t row = i / V;
        const int v = (int)(i % V);
        float g = d[i] * scale;
        if (v == y[row]) g -= scale;
        d[i] = g;
    }
}

/* layer 0's dW_ih, transposed: thread j adds column j of every dgates row into row x[row] of dw0t, in row order */
__global__ void k_scatter_rows(float *dw0t, const float *dgates, const int32_t *x, size_t rows, int GH) {
    FOR_EACH(j, (size_t)GH)
        for (size_t row = 0; row < rows; row++) dw0t[(size_t)x[row] * GH + j] += dgates[row * GH + j];
}

/* g (GH x V) += dw0t^T */
__global__ void k_add_transposed(float *g, const float *dw0t, int GH, int V) {
    FOR_EACH(i, (size_t)GH * V) {
        const size_t j = i / V, v = i % V;
        g[i] += dw0t[v * GH + j];
    }
}

/* partial[block] = sum of g^2 over the block's grid-stride share, in double */
__global__ void k_sumsq(double *partial, const float *g, size_t n) {
    __shared__ double red[THREADS];
    double acc = 0.0;
    FOR_EACH(i, n) acc += (double)g[i] * g[i];
    red[threadIdx.x] = acc;
    __syncthreads();
    for (int w = THREADS / 2; w > 0; w /= 2) {
        if ((int)threadIdx.x < w) red[threadIdx.x] += red[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) partial[blockIdx.x] = red[0];
}

/* norm[0] = sqrt of the partial sums added in block order (one thread: the same bits every run) */
__global__ void k_norm(double *norm, const double *partial, int nparts) {
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        double sum = 0.0;
        for (int i = 0; i < nparts; i++) sum += partial[i];
        norm[0] = sqrt(sum);
    }
}

/* clipping by the norm the device holds: no trip to the host */
__global__ void k_clip_norm(float *g, size_t n, const double *norm, double clip) {
    const double coef = clip_norm_coef(clip, norm[0]);
    if (coef < 1.0) {
        const float c = (float)coef;
        FOR_EACH(i, n) g[i] *= c;
    }
}

__global__ void k_clip_value(float *g, size_t n, float c) {
    FOR_EACH(i, n) g[i] = clip_value_rule(g[i], c);
}

/* the optimizers: optim_rules.h's update of each element, as the CPU's optim_update */
__global__ void k_rmsprop(float *p, float *m1, const float *g, size_t n, optim_coefs k) {
    FOR_EACH(i, n) rmsprop_rule(&k, p + i, m1 + i, g[i]);
}

__global__ void k_adam(float *p, float *m1, float *m2, const float *g, size_t n, optim_coefs k) {
    FOR_EACH(i, n) adam_rule(&k, p + i, m1 + i, m2 + i, g[i]);
}

__global__ void k_adagrad(float *p, float *m1, const float *g, size_t n, optim_coefs k) {
    FOR_EACH(i, n) adagrad_rule(&k, p + i, m1 + i, g[i]);
}

__global__ void k_sgd(float *p, const float *g, size_t n, optim_coefs k) {
    FOR_EACH(i, n) sgd_rule(&k, p + i, g[i]);
}

/* decoupled weight decay over one range of weights, before the rule's kernel */
__global__ void k_decay(float *p, size_t n, optim_coefs k) {
    FOR_EACH(i, n) decay_rule(&k, p + i);
}

/* ---- the products, row-major as the CPU's (cpu_backend.h), through column-major cuBLAS ---- */

static const float ONE = 1.0f;

/* Column-major C (m x n) = op(A) op(B) + beta C, every matrix float32 in memory; the
 * arithmetic is the variant's: float32 (CUBLAS_COMPUTE_32F, no TF32: the handle's
 * default math), or the operands rounded to TF32 or bf16 on tensor cores, summed in
 * float32. */
static int gemm(cuda_state *s, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const float *A, int lda,
                const float *B, int ldb, float beta, float *C, int ldc, const char *what) {
    return cb(s, cublasGemmEx(s->blas, ta, tb, m, n, k, &ONE, A, CUDA_R_32F, lda, B, CUDA_R_32F, ldb, &beta, C, CUDA_R_32F,
                              ldc, s->compute, CUBLAS_GEMM_DEFAULT), what);
}

/* C (M x N) = A (M x K) W^T + beta C, W (N x K) */
static int wt(cuda_state *s, int M, int N, int K, const float *A, const float *W, float beta, float *C) {
    return gemm(s, CUBLAS_OP_T, CUBLAS_OP_N, N, M, K, W, K, A, K, beta, C, N, "a product A W^T");
}

/* C (M x N) = A (M x K) W + beta C, W (K x N) */
static int w_(cuda_state *s, int M, int N, int K, const float *A, const float *W, float beta, float *C) {
    return gemm(s, CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, W, N, A, K, beta, C, N, "a product A W");
}

/* C (M x N) += A^T B, A (K x M), B (K x N) */
static int at(cuda_state *s, int M, int N, int K, const float *A, const float *B, float *C) {
    return gemm(s, CUBLAS_OP_N, CUBLAS_OP_T, N, M, K, B, N, A, M, 1.0f, C, N, "a product A^T B");
}

/* y (N) += column sums of A (M x N), as the CPU's gemv with ones */
static int colsum(cuda_state *s, int M, int N, const float *A, float *y) {
    return cb(s, cublasSgemv(s->blas, CUBLAS_OP_N, N, M, &ONE, A, N, s->ones, 1, &ONE, y, 1), "a column sum");
}

/* ---- memory ---- */

/* parameter tensor i of the flat array base */
static float *P(const model *m, float *base, int i) { return base + m->views[i].offset; }

int cuda_device_count(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return n;
}

int cuda_select_device(int device, charrnn_error *err) {
    int n = cuda_device_count();
    if (n == 0) return cr_fail(err, CHARRNN_EINVAL, "no CUDA GPU is visible here (no driver or no device); run on the CPU");
    if (device < 0 || device >= n)
        return cr_fail(err, CHARRNN_EINVAL, "cuda:%d is not a GPU here: this machine has %d (cuda:0 to cuda:%d)", device, n, n - 1);
    cudaError_t e = cudaSetDevice(device);
    if (e != cudaSuccess) return cr_fail(err, CHARRNN_EIO, "cannot use GPU cuda:%d: %s", device, cudaGetErrorString(e));
    selected_device = device;
    return CHARRNN_OK;
}

static cuda_state *new_state(charrnn_error *err) {
    cuda_state *s = (cuda_state *)cr_calloc(1, sizeof *s);
    if (!s) {
        cr_fail(err, CHARRNN_ENOMEM, "out of memory");
        return NULL;
    }
    s->device = selected_device;
    const char *sync = getenv("CHARRNN_CUDA_SYNC");
    s->sync = sync && *sync == '1';
    s->compute = CUBLAS_COMPUTE_32F;
    cudaError_t e = cudaSetDevice(s->device);
    cublasStatus_t bs = e == cudaSuccess ? cublasCreate(&s->blas) : CUBLAS_STATUS_NOT_INITIALIZED;
    /* float32 products in float32: no TF32 unless a variant's compute type asks (the default math, said outright) */
    if (bs == CUBLAS_STATUS_SUCCESS) bs = cublasSetMathMode(s->blas, CUBLAS_DEFAULT_MATH);
    if (e != cudaSuccess || bs != CUBLAS_STATUS_SUCCESS) {
        if (s->blas) cublasDestroy(s->blas);
        cr_fail(err, CHARRNN_EIO, "cannot start cuBLAS on GPU cuda:%d: %s", s->device,
                e != cudaSuccess ? cudaGetErrorString(e) : blas_status(bs));
        free(s);
        return NULL;
    }
    return s;
}

static void free_state(cuda_state *s) {
    if (s->owns_params) {
        cudaFree(s->d_params);
        cudaFree(s->d_m1);
        free(s->h_params);
    }
    cudaFree(s->d_act);
    free(s->h_grads);
    free(s->h_logits);
    free(s->h_probs);
    free(s->h_rowloss);
    if (s->blas) cublasDestroy(s->blas);
    free(s);
}

int cuda_init(model *m, charrnn_error *err) {
    cuda_state *s = new_state(err);
    if (!s) return CHARRNN_EIO;
    s->owns_params = 1;
    s->owner = s;
    const size_t n = m->num_params;
    s->h_params = (float *)cr_calloc(n, sizeof(float));
    cudaError_t e = cudaMalloc((void **)&s->d_params, 2 * n * sizeof(float));
    if (!s->h_params || e != cudaSuccess) {
        if (e == cudaSuccess) cudaFree(s->d_params);
        s->d_params = NULL;
        int code = !s->h_params ? cr_fail(err, CHARRNN_ENOMEM, "out of memory for %zu parameters", n)
                                : cr_fail(err, CHARRNN_ENOMEM, "cannot allocate %zu parameters and their gradients on the "
                                          "GPU (%.1f MB): %s", n, 2 * n * 4.0 / 1e6, cudaGetErrorString(e));
        cudaGetLastError();
        free_state(s);
        return code;
    }
    s->d_grads = s->d_params + n;
    e = cudaMemset(s->d_params, 0, 2 * n * sizeof(float));
    if (e != cudaSuccess) {
        free_state(s);
        return cr_fail(err, CHARRNN_EIO, "the GPU failed clearing the parameters: %s", cudaGetErrorString(e));
    }
    m->be = s;
    return CHARRNN_OK;
}

int cuda_view(model *view, const model *src, charrnn_error *err) {
    cuda_state *s = new_state(err);
    if (!s) return CHARRNN_EIO;
    const cuda_state *o = st(src);
    s->device = o->device;
    s->d_params = o->d_params;
    s->h_params = o->h_params;
    s->owner = o->owner;
    s->compute = o->compute;
    view->be = s;
    return CHARRNN_OK;
}

/* The activation plan, in floats, each piece aligned to 256 bytes; base NULL: the size only. */
static float *take(float *base, size_t *off, size_t n) {
    float *p = base ? base + *off : NULL;
    *off += (n + 63) / 64 * 64;
    return n ? p : NULL;
}

static size_t plan_acts(const model *m, cuda_state *s, int B, int T, int train, float *base) {
    size_t off = 0;
    const size_t H = (size_t)m->H, GH = (size_t)m->G * H, TB = (size_t)T * B, V = (size_t)m->V;
    const int dropout = train && m->cfg.dropout > 0, lstm = m->cfg.cell == CHARRNN_LSTM, gru = m->cfg.cell == CHARRNN_GRU;
    for (int l = 0; l < m->L; l++) {
        cuda_layer *a = &s->a[l];
        a->gates = take(base, &off, TB * GH);
        a->h = take(base, &off, TB * H + (size_t)B * H);
        a->c = lstm ? take(base, &off, TB * H + (size_t)B * H) : NULL;
        a->tc = lstm ? take(base, &off, TB * H) : NULL;
        a->bias = take(base, &off, GH);
        a->hn = gru ? take(base, &off, TB * H) : NULL;
        a->mask = dropout ? take(base, &off, TB * H) : NULL;
        a->out = dropout ? take(base, &off, TB * H) : NULL;
    }
    s->logits = take(base, &off, TB * V);
    s->probs = take(base, &off, TB * V);
    s->state_h = take(base, &off, (size_t)m->L * B * H);
    s->state_c = take(base, &off, (size_t)m->L * B * H);
    s->scratch = take(base, &off, (size_t)B * GH);
    s->ones = take(base, &off, TB);
    s->dgates = train ? take(base, &off, TB * GH) : NULL;
    s->dgates_h = train && gru ? take(base, &off, TB * GH) : NULL;
    s->dseq[0] = train ? take(base, &off, TB * H) : NULL;
    s->dseq[1] = train ? take(base, &off, TB * H) : NULL;
    s->dh = train ? take(base, &off, (size_t)B * H) : NULL;
    s->dc = train ? take(base, &off, (size_t)B * H) : NULL;
    s->dw0t = train ? take(base, &off, V * GH) : NULL;
    s->x = (int32_t *)take(base, &off, TB);
    s->y = (int32_t *)take(base, &off, TB);
    s->rowloss = (double *)take(base, &off, 2 * TB);
    s->partial = (double *)take(base, &off, 2 * (NORM_BLOCKS + 1));
    return off;
}

size_t cuda_alloc_bytes(const model *m, int B, int T, int train) {
    cuda_state s;
    memset(&s, 0, sizeof s);
    return (2 * m->num_params + plan_acts(m, &s, B, T, train, NULL)) * sizeof(float);
}

int cuda_alloc(model *m, int B, int T, int train, charrnn_error *err) {
    cuda_state *s = st(m);
    cudaFree(s->d_act);
    s->d_act = NULL;
    free(s->h_logits);
    free(s->h_probs);
    free(s->h_rowloss);
    free(s->h_grads);
    s->h_logits = s->h_probs = s->h_grads = NULL;
    s->h_rowloss = NULL;
    const size_t floats = plan_acts(m, s, B, T, train, NULL), TB = (size_t)T * B;
    cudaError_t e = cudaMalloc((void **)&s->d_act, floats * sizeof(float));
    if (e != cudaSuccess) {
        cudaGetLastError();
        s->d_act = NULL;
        return cr_fail(err, CHARRNN_ENOMEM, "cannot allocate the activations of %d streams x %d steps on the GPU "
                       "(%.1f MB): %s", B, T, floats * 4.0 / 1e6, cudaGetErrorString(e));
    }
    plan_acts(m, s, B, T, train, s->d_act);
    s->h_logits = (float *)cr_malloc(TB * m->V, sizeof(float));
    s->h_probs = (float *)cr_malloc(TB * m->V, sizeof(float));
    s->h_rowloss = (double *)cr_malloc(TB, sizeof(double));
    if (train) s->h_grads = (float *)cr_calloc(m->num_params, sizeof(float));
    if (!s->h_logits || !s->h_probs || !s->h_rowloss || (train && !s->h_grads))
        return cr_fail(err, CHARRNN_ENOMEM, "out of memory for the host copies of the GPU's outputs");
    s->logits_fresh = s->probs_fresh = 0;
    s->last_b = s->last_t = 0;
    if (ck(s, cudaMemset(s->d_act, 0, floats * sizeof(float)), "clearing the activations")) goto failed;
    k_fill<<<blocks(TB), THREADS>>>(s->ones, 1.0f, TB);
    if (launched(s, "k_fill")) goto failed;
    return CHARRNN_OK;
failed:
    if (err) *err = s->err;
    return s->err.code ? s->err.code : CHARRNN_EIO;
}

void cuda_free(model *m) {
    cuda_state *s = st(m);
    if (!s) return;
    free_state(s);
    m->be = NULL;
}

/* The variants differ only in their products' compute type; everything else
 * (weights, gradients, moments, cell math, loss) stays float32. */
int cuda_set_variant(model *m, const backend_ops *variant, charrnn_error *err) {
    const backend_ops *all[3] = {&cuda_fp32_ops, &cuda_tf32_ops, &cuda_bf16_ops};
    const cublasComputeType_t compute[3] = {CUBLAS_COMPUTE_32F, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_COMPUTE_32F_FAST_16BF};
    int from = -1, to = -1;
    for (int i = 0; i < 3; i++) {
        if (m->ops == all[i]) from = i;
        if (variant == all[i]) to = i;
    }
    if (from < 0 || to < 0)
        return cr_fail(err, CHARRNN_EINVAL, "cuda_set_variant: %s to %s is not a switch between the CUDA backend's variants",
                       m->ops ? m->ops->name : "nothing", variant ? variant->name : "nothing");
    st(m)->compute = compute[to];
    m->ops = variant;
    return CHARRNN_OK;
}

int cuda_set_bf16(model *m, int on, charrnn_error *err) {
    return cuda_set_variant(m, on ? &cuda_bf16_ops : &cuda_fp32_ops, err);
}

int cuda_use_half(model *m, charrnn_error *err) {
    return cr_fail(err, CHARRNN_EINVAL, "half-precision sampling is not on the GPU yet; sample in full precision");
}

int cuda_check(const model *m, charrnn_error *err) {
    const cuda_state *s = st(m);
    if (!s->failed) return CHARRNN_OK;
    if (err) *err = s->err;
    return s->err.code ? s->err.code : CHARRNN_EIO;
}

/* ---- the passes ---- */

static const float *layer_output(const model *m, int l, int b, int dropout) {
    const cuda_state *s = st(m);
    return dropout ? s->a[l].out : s->a[l].h + (size_t)b * m->H;
}

static int forward_layer_steps(model *m, int l, int b, int t) {
    cuda_state *s = st(m);
    cuda_layer *a = &s->a[l];
    const int H = m->H, GH = m->G * H;
    const size_t bh = (size_t)b * H;
    float *w_hh = P(m, s->d_params, 4 * l + 1), *b_hh = P(m, s->d_params, 4 * l + 3);
    for (int k = 0; k < t; k++) {
        const float *hprev = a->h + k * bh;
        float *hnext = a->h + (k + 1) * bh;
        float *g = a->gates + (size_t)k * b * GH;
        switch (m->cfg.cell) {
        case CHARRNN_LSTM:
            TRY(wt(s, b, GH, H, hprev, w_hh, 1.0f, g));
            k_lstm_forward<<<blocks(bh), THREADS>>>(g, a->bias, a->c + k * bh, a->c + (k + 1) * bh, a->tc + k * bh, hnext, b, H);
            TRY(launched(s, "the LSTM cell's forward"));
            break;
        case CHARRNN_GRU:
            TRY(wt(s, b, GH, H, hprev, w_hh, 0.0f, s->scratch));
            k_gru_forward<<<blocks(bh), THREADS>>>(g, a->bias, s->scratch, b_hh + 2 * H, hprev, a->hn + k * bh, hnext, b, H);
            TRY(launched(s, "the GRU cell's forward"));
            break;
        case CHARRNN_RNN:
            TRY(wt(s, b, GH, H, hprev, w_hh, 1.0f, g));
            k_rnn_forward<<<blocks(bh), THREADS>>>(g, a->bias, hnext, b, H);
            TRY(launched(s, "the RNN cell's forward"));
            break;
        }
    }
    return 0;
}

static int forward(model *m, const int32_t *x, const int32_t *y, int b, int t, int train, rng *r, double *loss) {
    cuda_state *s = st(m);
    const int H = m->H, GH = m->G * H, V = m->V;
    const size_t TB = (size_t)t * b, bh = (size_t)b * H;
    const int dropout = train && m->cfg.dropout > 0 && s->a[0].mask;
    const float keep = 1.0f - m->cfg.dropout, scale = dropout ? 1.0f / keep : 1.0f;
    s->logits_fresh = s->probs_fresh = 0;
    s->last_b = b;
    s->last_t = t;
    s->last_dropout = dropout;
    TRY(ck(s, cudaMemcpy(s->x, x, TB * sizeof(int32_t), cudaMemcpyHostToDevice), "uploading the inputs"));
    if (y) TRY(ck(s, cudaMemcpy(s->y, y, TB * sizeof(int32_t), cudaMemcpyHostToDevice), "uploading the targets"));
    const uint64_t key = dropout ? dropout_key(r) : 0; /* one draw per forward, as the CPU's */
    for (int l = 0; l < m->L; l++) {
        cuda_layer *a = &s->a[l];
        float *w_ih = P(m, s->d_params, 4 * l), *b_ih = P(m, s->d_params, 4 * l + 2), *b_hh = P(m, s->d_params, 4 * l + 3);
        if (l == 0) {
            k_gather_columns<<<blocks(TB * GH), THREADS>>>(a->gates, w_ih, s->x, TB, GH, V);
            TRY(launched(s, "layer 0's input projection"));
        } else {
            TRY(wt(s, (int)TB, GH, H, layer_output(m, l - 1, b, dropout), w_ih, 0.0f, a->gates));
        }
        k_bias_sum<<<blocks(GH), THREADS>>>(a->bias, b_ih, b_hh, GH, m->cfg.cell == CHARRNN_GRU ? 2 * H : GH);
        TRY(launched(s, "the biases' sum"));
        float *sh = s->state_h + (size_t)l * m->B * H, *sc = s->state_c + (size_t)l * m->B * H;
        TRY(ck(s, cudaMemcpy(a->h, sh, bh * sizeof(float), cudaMemcpyDeviceToDevice), "loading the carried state"));
        if (a->c) TRY(ck(s, cudaMemcpy(a->c, sc, bh * sizeof(float), cudaMemcpyDeviceToDevice), "loading the carried state"));
        TRY(forward_layer_steps(m, l, b, t));
        TRY(ck(s, cudaMemcpy(sh, a->h + (size_t)t * bh, bh * sizeof(float), cudaMemcpyDeviceToDevice), "keeping the state"));
        if (a->c) TRY(ck(s, cudaMemcpy(sc, a->c + (size_t)t * bh, bh * sizeof(float), cudaMemcpyDeviceToDevice), "keeping the state"));
        if (dropout) {
            k_dropout<<<blocks((TB * H + 3) / 4), THREADS>>>(a->mask, a->out, a->h + bh, key, l, keep, scale, TB * H);
            TRY(launched(s, "dropout"));
        }
    }
    const int nv = m->num_views;
    k_rows_of<<<blocks(TB * V), THREADS>>>(s->logits, P(m, s->d_params, nv - 1), TB, V);
    TRY(launched(s, "the decoder's bias"));
    TRY(wt(s, (int)TB, V, H, layer_output(m, m->L - 1, b, dropout), P(m, s->d_params, nv - 2), 1.0f, s->logits));
    k_softmax_xent<<<(unsigned)TB, THREADS>>>(s->probs, s->logits, y ? s->y : NULL, s->rowloss, V);
    TRY(launched(s, "softmax"));
    *loss = 0.0;
    if (y) { /* the rows' losses summed on the host in row order, as the CPU does */
        TRY(ck(s, cudaMemcpy(s->h_rowloss, s->rowloss, TB * sizeof(double), cudaMemcpyDeviceToHost), "the loss"));
        double sum = 0.0;
        for (size_t row = 0; row < TB; row++) sum += s->h_rowloss[row];
        *loss = sum / (double)TB;
    } else {
        TRY(ck(s, cudaDeviceSynchronize(), "the forward pass"));
    }
    return 0;
}

double cuda_forward(model *m, const int32_t *x, const int32_t *y, int b, int t, int train, rng *r) {
    cuda_state *s = st(m);
    double loss = NAN;
    if (s->failed || forward(m, x, y, b, t, train, r, &loss)) return NAN;
    return loss;
}

static int backward_layer_steps(model *m, int l, int b, int t, const float *dout) {
    cuda_state *s = st(m);
    cuda_layer *a = &s->a[l];
    const int H = m->H, GH = m->G * H;
    const size_t bh = (size_t)b * H;
    const float *w_hh = P(m, s->d_params, 4 * l + 1);
    const int gru = m->cfg.cell == CHARRNN_GRU;
    float *dgh = gru ? s->dgates_h : s->dgates;
    TRY(ck(s, cudaMemset(s->dh, 0, bh * sizeof(float)), "clearing dh"));
    TRY(ck(s, cudaMemset(s->dc, 0, bh * sizeof(float)), "clearing dc"));
    for (int k = t - 1; k >= 0; k--) {
        const size_t goff = (size_t)k * b * GH;
        switch (m->cfg.cell) {
        case CHARRNN_LSTM:
            k_lstm_backward<<<blocks(bh), THREADS>>>(s->dgates + goff, s->dh, s->dc, dout + k * bh, a->gates + goff,
                                                      a->c + k * bh, a->tc + k * bh, b, H);
            TRY(launched(s, "the LSTM cell's backward"));
            break;
        case CHARRNN_GRU:
            k_gru_backward<<<blocks(bh), THREADS>>>(s->dgates + goff, s->dgates_h + goff, s->dh, dout + k * bh,
                                                     a->gates + goff, a->hn + k * bh, a->h + k * bh, b, H);
            TRY(launched(s, "the GRU cell's backward"));
            break;
        case CHARRNN_RNN:
            k_rnn_backward<<<blocks(bh), THREADS>>>(s->dgates + goff, s->dh, dout + k * bh, a->h + (k + 1) * bh, b, H);
            TRY(launched(s, "the RNN cell's backward"));
            break;
        }
        /* dh(t-1) = dgates_h W_hh (+ the direct path GRU put in dh already) */
        if (k > 0) TRY(w_(s, b, H, GH, dgh + goff, w_hh, gru ? 1.0f : 0.0f, s->dh));
    }
    return 0;
}

static int backward(model *m, int b, int t) {
    cuda_state *s = st(m);
    const int H = m->H, GH = m->G * H, V = m->V, L = m->L, nv = m->num_views;
    const size_t TB = (size_t)t * b;
    const int dropout = s->last_dropout;
    s->probs_fresh = 0;
    float *dlogits = s->probs;
    k_xent_backward<<<blocks(TB * V), THREADS>>>(dlogits, s->y, TB, V, 1.0f / (float)TB);
    TRY(launched(s, "the loss's gradient"));
    const float *top = layer_output(m, L - 1, b, dropout);
    TRY(at(s, V, H, (int)TB, dlogits, top, P(m, s->d_grads, nv - 2)));
    TRY(colsum(s, (int)TB, V, dlogits, P(m, s->d_grads, nv - 1)));
    float *dout = s->dseq[0];
    TRY(w_(s, (int)TB, H, V, dlogits, P(m, s->d_params, nv - 2), 0.0f, dout));
    for (int l = L - 1; l >= 0; l--) {
        cuda_layer *a = &s->a[l];
        float *g_w_ih = P(m, s->d_grads, 4 * l), *g_w_hh = P(m, s->d_grads, 4 * l + 1);
        float *g_b_ih = P(m, s->d_grads, 4 * l + 2), *g_b_hh = P(m, s->d_grads, 4 * l + 3);
        if (dropout) {
            k_mul<<<blocks(TB * H), THREADS>>>(dout, dout, a->mask, TB * H);
            TRY(launched(s, "dropout's gradient"));
        }
        TRY(backward_layer_steps(m, l, b, t, dout));
        float *dgh = m->cfg.cell == CHARRNN_GRU ? s->dgates_h : s->dgates;
        TRY(at(s, GH, H, (int)TB, dgh, a->h, g_w_hh));
        TRY(colsum(s, (int)TB, GH, s->dgates, g_b_ih));
        TRY(colsum(s, (int)TB, GH, dgh, g_b_hh));
        if (l == 0) {
            TRY(ck(s, cudaMemset(s->dw0t, 0, (size_t)V * GH * sizeof(float)), "clearing dW_ih"));
            k_scatter_rows<<<blocks(GH), THREADS>>>(s->dw0t, s->dgates, s->x, TB, GH);
            TRY(launched(s, "layer 0's input-weight gradient"));
            k_add_transposed<<<blocks((size_t)GH * V), THREADS>>>(g_w_ih, s->dw0t, GH, V);
            TRY(launched(s, "layer 0's input-weight gradient"));
        } else {
            const float *in = layer_output(m, l - 1, b, dropout);
            TRY(at(s, GH, H, (int)TB, s->dgates, in, g_w_ih));
            float *dnext = s->dseq[(L - l) & 1];
            TRY(w_(s, (int)TB, H, GH, s->dgates, P(m, s->d_params, 4 * l), 0.0f, dnext));
            dout = dnext;
        }
    }
    return 0;
}

void cuda_backward(model *m, const int32_t *x, const int32_t *y, int b, int t) {
    cuda_state *s = st(m);
    s->norm_fresh = 0;
    if (s->failed) return;
    if (!s->dgates) {
        fail(s, "backward", "the model was allocated without gradients");
        return;
    }
    backward(m, b, t);
}

/* ---- the carried state and the outputs ---- */

void cuda_reset_state(model *m) {
    cuda_state *s = st(m);
    if (s->failed || !s->state_h) return;
    const size_t n = (size_t)m->L * m->B * m->H * sizeof(float);
    if (!ck(s, cudaMemset(s->state_h, 0, n), "resetting the state")) ck(s, cudaMemset(s->state_c, 0, n), "resetting the state");
}

/* a failed download leaves NaN, never stale numbers */
static void down(cuda_state *s, float *host, const float *dev, size_t n, const char *what) {
    if (s->failed || ck(s, cudaMemcpy(host, dev, n * sizeof(float), cudaMemcpyDeviceToHost), what))
        for (size_t i = 0; i < n; i++) host[i] = NAN;
}

static void up(cuda_state *s, float *dev, const float *host, size_t n, const char *what) {
    if (!s->failed) ck(s, cudaMemcpy(dev, host, n * sizeof(float), cudaMemcpyHostToDevice), what);
}

void cuda_get_state(const model *m, int l, int j0, int n, float *h, float *c) {
    cuda_state *s = st(m);
    const size_t at_ = ((size_t)l * m->B + (size_t)j0) * m->H, len = (size_t)n * m->H;
    down(s, h, s->state_h + at_, len, "reading the state");
    if (c) down(s, c, s->state_c + at_, len, "reading the state");
}

void cuda_set_state(model *m, int l, int j0, int n, const float *h, const float *c) {
    cuda_state *s = st(m);
    const size_t at_ = ((size_t)l * m->B + (size_t)j0) * m->H, len = (size_t)n * m->H;
    up(s, s->state_h + at_, h, len, "writing the state");
    if (c) up(s, s->state_c + at_, c, len, "writing the state");
}

void cuda_step_state(const model *m, int l, int k, int j0, int n, float *h, float *c) {
    cuda_state *s = st(m);
    const size_t at_ = ((size_t)(k + 1) * s->last_b + (size_t)j0) * m->H, len = (size_t)n * m->H;
    down(s, h, s->a[l].h + at_, len, "reading a step's state");
    if (c && s->a[l].c) down(s, c, s->a[l].c + at_, len, "reading a step's state");
}

/* The host mirrors hold every row of the last forward, fetched at the first read after it. */
const float *cuda_probs(const model *m, size_t row) {
    cuda_state *s = st(m);
    if (!s->probs_fresh) {
        down(s, s->h_probs, s->probs, (size_t)s->last_t * s->last_b * m->V, "reading the probabilities");
        s->probs_fresh = 1;
    }
    return s->h_probs + row * (size_t)m->V;
}

const float *cuda_logits(const model *m, size_t row) {
    cuda_state *s = st(m);
    if (!s->logits_fresh) {
        down(s, s->h_logits, s->logits, (size_t)s->last_t * s->last_b * m->V, "reading the logits");
        s->logits_fresh = 1;
    }
    return s->h_logits + row * (size_t)m->V;
}

void cuda_set_logits(model *m, size_t row, const float *z) {
    cuda_state *s = st(m);
    const size_t V = (size_t)m->V;
    up(s, s->logits + row * V, z, V, "writing logits");
    if (s->failed) return;
    k_softmax_xent<<<1, THREADS>>>(s->probs + row * V, s->logits + row * V, NULL, NULL, (int)V);
    if (launched(s, "softmax")) return;
    if ((size_t)s->last_t * s->last_b <= row) { /* a row past the last forward: the mirrors cover it from now */
        s->last_t = 1;
        s->last_b = (int)row + 1;
    }
    s->logits_fresh = s->probs_fresh = 0;
}

/* ---- gradients, the optimizer, host copies ---- */

void cuda_zero_grad(model *m) {
    cuda_state *s = st(m);
    s->norm_fresh = 0;
    if (!s->failed) ck(s, cudaMemset(s->d_grads, 0, m->num_params * sizeof(float)), "clearing the gradients");
}

void cuda_scale_grad(model *m, float w) {
    cuda_state *s = st(m);
    s->norm_fresh = 0;
    if (s->failed) return;
    k_scale<<<blocks(m->num_params), THREADS>>>(s->d_grads, w, m->num_params);
    launched(s, "scaling the gradients");
}

void cuda_sum_grad(model *m, void (*sum)(float *x, size_t n)) {
    cuda_state *s = st(m);
    s->norm_fresh = 0;
    if (s->failed || !s->h_grads) return;
    down(s, s->h_grads, s->d_grads, m->num_params, "reading the gradients");
    sum(s->h_grads, m->num_params);
    up(s, s->d_grads, s->h_grads, m->num_params, "writing the gradients");
}

/* The norm into s->partial[NORM_BLOCKS] on the device: per-block partial sums in
 * double, then added in block order by one thread (the same bits every run). */
static int norm_on_device(model *m) {
    cuda_state *s = st(m);
    if (s->norm_fresh) return 0;
    k_sumsq<<<NORM_BLOCKS, THREADS>>>(s->partial, s->d_grads, m->num_params);
    TRY(launched(s, "the gradients' norm"));
    k_norm<<<1, 1>>>(s->partial + NORM_BLOCKS, s->partial, NORM_BLOCKS);
    TRY(launched(s, "the gradients' norm"));
    s->norm_fresh = 1;
    return 0;
}

double cuda_grad_norm(model *m) {
    cuda_state *s = st(m);
    double norm = NAN;
    if (s->failed || norm_on_device(m) ||
        ck(s, cudaMemcpy(&norm, s->partial + NORM_BLOCKS, sizeof(double), cudaMemcpyDeviceToHost), "the gradients' norm"))
        return NAN;
    return norm;
}

/* Clipping by norm uses the norm on the device (grad_norm's, or computed here), never
 * the argument: the coefficient is computed there, and nothing waits for the host. */
void cuda_clip_grad(model *m, double clip, charrnn_clip_mode mode, double norm) {
    cuda_state *s = st(m);
    if (s->failed || clip <= 0) return;
    if (mode == CHARRNN_CLIP_VALUE) {
        k_clip_value<<<blocks(m->num_params), THREADS>>>(s->d_grads, m->num_params, (float)clip);
        launched(s, "clipping the gradients");
    } else if (!norm_on_device(m)) {
        k_clip_norm<<<blocks(m->num_params), THREADS>>>(s->d_grads, m->num_params, s->partial + NORM_BLOCKS, clip);
        launched(s, "clipping the gradients");
    }
    s->norm_fresh = 0;
}

/* The moments of o on the device (the owner's): allocated at the first use, and
 * taken from o's host arrays when the device holds another optimizer's, or before
 * o's first step (a fresh optimizer, whatever its address). */
static int moments_for(model *m, optim *o) {
    cuda_state *s = st(m);
    const size_t n = m->num_params;
    const int k = optim_num_moments(o);
    if (!s->owns_params) return fail(s, "the optimizer", "a view of a model has no optimizer");
    if (k > 0 && !s->d_m1) {
        if (ck(s, cudaMalloc((void **)&s->d_m1, 2 * n * sizeof(float)), "allocating the optimizer's moments")) {
            s->d_m1 = NULL;
            return -1;
        }
        s->d_m2 = s->d_m1 + n;
        s->moments_of = NULL;
    }
    if (s->moments_of != o || o->step == 0) {
        if (k >= 1) TRY(ck(s, cudaMemcpy(s->d_m1, o->m1, n * sizeof(float), cudaMemcpyHostToDevice), "writing the moments"));
        if (k >= 2) TRY(ck(s, cudaMemcpy(s->d_m2, o->m2, n * sizeof(float), cudaMemcpyHostToDevice), "writing the moments"));
        s->moments_of = o;
    }
    return 0;
}

/* One update on the device: the moments stay there, the parameters never come
 * back (the host mirror is fetched when read). */
void cuda_optim_step(model *m, optim *o, double lr) {
    cuda_state *s = st(m);
    if (s->failed || moments_for(m, o)) return;
    const optim_coefs k = optim_begin_step(o, lr);
    for (int r = 0; o->weight_decay > 0 && r < o->num_decay; r++)
        k_decay<<<blocks(o->decay_at[r][1]), THREADS>>>(s->d_params + o->decay_at[r][0], o->decay_at[r][1], k);
    const size_t n = m->num_params;
    const unsigned nb = blocks(n);
    switch (o->kind) {
    case CHARRNN_RMSPROP: k_rmsprop<<<nb, THREADS>>>(s->d_params, s->d_m1, s->d_grads, n, k); break;
    case CHARRNN_ADAM: k_adam<<<nb, THREADS>>>(s->d_params, s->d_m1, s->d_m2, s->d_grads, n, k); break;
    case CHARRNN_ADAGRAD: k_adagrad<<<nb, THREADS>>>(s->d_params, s->d_m1, s->d_grads, n, k); break;
    case CHARRNN_SGD: k_sgd<<<nb, THREADS>>>(s->d_params, s->d_grads, n, k); break;
    }
    if (!launched(s, "the optimizer's step")) s->mirror_stale = 1;
}

void cuda_moments_to_host(model *m, optim *o) {
    cuda_state *s = st(m);
    const size_t n = m->num_params;
    const int k = optim_num_moments(o);
    if (s->moments_of != o) return; /* the device holds none of o's: o's host arrays are current */
    if (k >= 1) down(s, o->m1, s->d_m1, n, "reading the moments");
    if (k >= 2) down(s, o->m2, s->d_m2, n, "reading the moments");
}

void cuda_moments_from_host(model *m, optim *o) {
    cuda_state *s = st(m);
    if (s->failed) return;
    s->moments_of = NULL;
    moments_for(m, o);
}

/* The owner's mirror, fetched when the device's parameters moved past it. */
float *cuda_params_host(const model *m) {
    cuda_state *s = st(m), *o = s->owner;
    if (o->mirror_stale) {
        down(s, o->h_params, o->d_params, m->num_params, "reading the parameters");
        o->mirror_stale = 0;
    }
    return o->h_params;
}

/* What was written into the mirror goes up; a stale mirror was not handed out since
 * the device moved on (params_host fetches it first), so it holds nothing new. */
void cuda_weights_changed(model *m) {
    cuda_state *s = st(m);
    if (!s->owner->mirror_stale) up(s, s->d_params, s->h_params, m->num_params, "writing the parameters");
}

const float *cuda_grads_host(const model *m) {
    cuda_state *s = st(m);
    if (!s->h_grads) return NULL;
    down(s, s->h_grads, s->d_grads, m->num_params, "reading the gradients");
    return s->h_grads;
}
