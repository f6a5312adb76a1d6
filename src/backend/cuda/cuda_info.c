/* cuda_info.c: the GPUs in words, for what a user and a compressed file are told:
 * a device's name, a summary (compute capability, memory), and what decides its
 * float results besides the model (the GPU, the CUDA runtime and driver, cuBLAS).
 * Plain C over the CUDA runtime's C API; the kernels are cuda_backend.cu's. */
#include "backend.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <stdio.h>

int cuda_describe(int device, cuda_what what, char *out, size_t cap) {
    struct cudaDeviceProp p;
    if (cap) out[0] = 0;
    if (device < 0 || device >= cuda_device_count() || cudaGetDeviceProperties(&p, device) != cudaSuccess) {
        cudaGetLastError();
        return -1;
    }
    if (what == CUDA_NAME) {
        snprintf(out, cap, "%s", p.name);
    } else if (what == CUDA_SUMMARY) {
        snprintf(out, cap, "%s, sm_%d%d, %.1f GB", p.name, p.major, p.minor, (double)p.totalGlobalMem / 1e9);
    } else {
        int rt = 0, drv = 0, bmaj = 0, bmin = 0, bpatch = 0;
        cudaRuntimeGetVersion(&rt);
        cudaDriverGetVersion(&drv);
        cublasGetProperty(MAJOR_VERSION, &bmaj);
        cublasGetProperty(MINOR_VERSION, &bmin);
        cublasGetProperty(PATCH_LEVEL, &bpatch);
        snprintf(out, cap, "%s sm_%d%d, CUDA runtime %d.%d, driver %d.%d, cuBLAS %d.%d.%d", p.name, p.major, p.minor,
                 rt / 1000, rt % 1000 / 10, drv / 1000, drv % 1000 / 10, bmaj, bmin, bpatch);
    }
    return 0;
}
