// What another core's copy of the weights costs RMSprop's update (bench/RESULTS.md, twenty-seventh session).
// CPU 1 does MODE to w (200 000 floats), then CPU 0 runs the RMSprop update of w, g, v and times it; 2 000 rounds.
// MODE: none | write | read | read-nt (CPU 0 writes w with non-temporal stores) | read-flush (CPU 1 then clflushopt's
// w) | read-evict (CPU 1 then streams 4 MB of other data) | read-prefetchw (CPU 0 prefetches w for writing ahead).
// Build and run: gcc -O3 -march=native -pthread -o /tmp/ccu bench/cross-core-update.c -lm && /tmp/ccu read
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N 200000
#define ROUNDS 2000
static float *w, *g, *v, *junk;
static const char *mode;
static atomic_int phase;
static volatile float sink;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static void pin(int cpu) { cpu_set_t s; CPU_ZERO(&s); CPU_SET(cpu, &s); pthread_setaffinity_np(pthread_self(), sizeof s, &s); }
static int is(const char *m) { return strcmp(mode, m) == 0; }

static float sum(const float *x) {
    __m512 acc = _mm512_setzero_ps();
    for (size_t i = 0; i < N; i += 16) acc = _mm512_add_ps(acc, _mm512_load_ps(x + i));
    return _mm512_reduce_add_ps(acc);
}

static void *other(void *arg) {
    (void)arg; pin(1);
    for (int r = 0; r < ROUNDS; r++) {
        while (atomic_load(&phase) != 2 * r) ;
        if (is("write")) for (size_t i = 0; i < N; i++) w[i] += 1e-9f;
        if (strncmp(mode, "read", 4) == 0) sink += sum(w);
        if (is("read-flush")) for (size_t i = 0; i < N; i += 16) _mm_clflushopt(w + i);
        if (is("read-evict")) for (size_t i = 0; i < (1u << 20); i += 16) junk[i] += 1;
        atomic_store(&phase, 2 * r + 1);
    }
    return NULL;
}

int main(int argc, char **argv) {
    mode = argc > 1 ? argv[1] : "read";
    w = aligned_alloc(64, N * 4); g = aligned_alloc(64, N * 4); v = aligned_alloc(64, N * 4);
    junk = aligned_alloc(64, 4u << 20); memset(junk, 0, 4u << 20);
    for (size_t i = 0; i < N; i++) { w[i] = 1; g[i] = 0.001f; v[i] = 0.01f; }
    pin(0);
    pthread_t t; pthread_create(&t, NULL, other, NULL);
    const __m512 rho = _mm512_set1_ps(0.9f), c = _mm512_set1_ps(0.1f), eps = _mm512_set1_ps(1e-7f), lr = _mm512_set1_ps(0.001f);
    int nt = is("read-nt"), pw = is("read-prefetchw");
    double total = 0;
    for (int r = 0; r < ROUNDS; r++) {
        for (size_t i = 0; i < N; i++) g[i] = 0.001f * (float)(i % 7) + (float)r * 1e-6f;   // CPU 0 owns g and v
        sink += sum(w);                                                                     // and reads w too
        atomic_store(&phase, 2 * r);
        while (atomic_load(&phase) != 2 * r + 1) ;
        double t0 = now();
        for (size_t i = 0; i < N; i += 16) {
            if (pw && i + 512 < N) _m_prefetchw(w + i + 512);
            __m512 gi = _mm512_load_ps(g + i), vi = _mm512_load_ps(v + i), wi = _mm512_load_ps(w + i);
            vi = _mm512_add_ps(_mm512_mul_ps(rho, vi), _mm512_mul_ps(c, _mm512_mul_ps(gi, gi)));
            wi = _mm512_sub_ps(wi, _mm512_div_ps(_mm512_mul_ps(lr, gi), _mm512_sqrt_ps(_mm512_add_ps(vi, eps))));
            _mm512_store_ps(v + i, vi);
            if (nt) _mm512_stream_ps(w + i, wi); else _mm512_store_ps(w + i, wi);
        }
        _mm_sfence();
        total += now() - t0;
    }
    pthread_join(t, NULL);
    printf("%-15s update of w, g, v (%d floats each) on CPU 0: mean %.1f us over %d rounds\n", mode, N, total / ROUNDS * 1e6, ROUNDS);
    return 0;
}
