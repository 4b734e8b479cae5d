/* Memory read bandwidth of this machine: a plain AVX-512 sum over 205 MB (the size of the
 * 200k x 256 f32 arena), best of 15, on 1 and 2 OpenMP threads. The DRAM ceiling the flat
 * single-query scan is compared with in BENCHMARKS.md:
 *   gcc -O3 -march=native -fopenmp benches/membw.c -o /tmp/membw && /tmp/membw
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <omp.h>
#include <immintrin.h>
int main(){
  size_t n = 205ull*1000*1000/4; float *a = aligned_alloc(64, n*4);
  for(size_t i=0;i<n;i++) a[i]=1.0f;
  for(int t=1;t<=2;t++){
    omp_set_num_threads(t); double best=1e9;
    for(int r=0;r<15;r++){
      double t0=omp_get_wtime(); float total=0;
      #pragma omp parallel reduction(+:total)
      { __m512 s0=_mm512_setzero_ps(),s1=s0,s2=s0,s3=s0;
        #pragma omp for
        for(size_t i=0;i<n;i+=64){ s0=_mm512_add_ps(s0,_mm512_load_ps(a+i)); s1=_mm512_add_ps(s1,_mm512_load_ps(a+i+16)); s2=_mm512_add_ps(s2,_mm512_load_ps(a+i+32)); s3=_mm512_add_ps(s3,_mm512_load_ps(a+i+48)); }
        total += _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0,s1),_mm512_add_ps(s2,s3))); }
      double dt=omp_get_wtime()-t0; if(dt<best)best=dt; if(total<0)printf("x");
    }
    printf("threads=%d read %.1f GB/s (best of 15, 205 MB)\n", t, 205e6/best/1e9);
  }
}
