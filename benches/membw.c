/* Memory read bandwidth of this machine: a plain vector sum over 205 MB (the size of the
 * 200k x 256 f32 arena), best of 15, on 1 and 2 OpenMP threads. The DRAM ceiling the flat
 * single-query scan is compared with in BENCHMARKS.md. Built for the machine it runs on
 * (AVX-512 loads where the compiler may use them), or pinned to AVX2 like our kernels:
 *   gcc -O3 -march=native -fopenmp benches/membw.c -o /tmp/membw && /tmp/membw
 *   gcc -O3 -march=native -mno-avx512f -fopenmp benches/membw.c -o /tmp/membw2 && /tmp/membw2
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <omp.h>
#include <immintrin.h>

#ifdef __AVX512F__
#define ISA "avx512"
#define LANES 16
typedef __m512 vec;
static inline vec vzero(void) { return _mm512_setzero_ps(); }
static inline vec vadd(vec a, vec b) { return _mm512_add_ps(a, b); }
static inline vec vload(const float *p) { return _mm512_load_ps(p); }
static inline float vsum(vec a) { return _mm512_reduce_add_ps(a); }
#else
#define ISA "avx2"
#define LANES 8
typedef __m256 vec;
static inline vec vzero(void) { return _mm256_setzero_ps(); }
static inline vec vadd(vec a, vec b) { return _mm256_add_ps(a, b); }
static inline vec vload(const float *p) { return _mm256_load_ps(p); }
static inline float vsum(vec a) {
  float t[8]; _mm256_storeu_ps(t, a);
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#endif

int main(void) {
  /* Rounded up to whole 64-float steps so the unrolled loop never reads past the end. */
  size_t n = (205ull * 1000 * 1000 / 4 + 63) & ~(size_t)63;
  float *a = aligned_alloc(64, n * 4);
  for (size_t i = 0; i < n; i++) a[i] = 1.0f;
  for (int t = 1; t <= 2; t++) {
    omp_set_num_threads(t);
    double best = 1e9;
    for (int r = 0; r < 15; r++) {
      double t0 = omp_get_wtime();
      float total = 0;
#pragma omp parallel reduction(+ : total)
      {
        vec s0 = vzero(), s1 = s0, s2 = s0, s3 = s0;
#pragma omp for
        for (size_t i = 0; i < n; i += 4 * LANES) {
          s0 = vadd(s0, vload(a + i));
          s1 = vadd(s1, vload(a + i + LANES));
          s2 = vadd(s2, vload(a + i + 2 * LANES));
          s3 = vadd(s3, vload(a + i + 3 * LANES));
        }
        total += vsum(vadd(vadd(s0, s1), vadd(s2, s3)));
      }
      double dt = omp_get_wtime() - t0;
      if (dt < best) best = dt;
      if (total < 0) printf("x");
    }
    printf("{\"tool\": \"membw\", \"isa\": \"%s\", \"threads\": %d, \"gb_s\": %.2f}\n", ISA, t,
           n * 4.0 / best / 1e9);
  }
  return 0;
}
