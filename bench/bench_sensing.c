/* bench_sensing.c: time one GD step of symmetric matrix sensing against the machine's own dgemv roofline.
 *
 * A step reads the m×n² operator twice (a dgemv and a transposed dgemv), so it is memory-bound. For each size
 * this prints the step's effective bandwidth (2·m·n²·8 bytes per step) next to that of a plain pair of
 * cblas_dgemv calls (NoTrans + Trans) over a buffer of the same size, measured in the same run, and the
 * number of heap allocations made inside the timed step loop (all of them, OpenBLAS's included: malloc is
 * interposed below). Target: ≥ 80 % of the dgemv pair, zero allocations.
 *
 * usage: bench_sensing [--quick] [--threads N] */
#include <cblas.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "saddle/alloc.h"
#include "saddle/run.h"

/* ---- count every heap allocation of the process (glibc's entry points stay reachable as __libc_*) */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static atomic_ulong heap_allocs;
void *malloc(size_t n) {
  atomic_fetch_add(&heap_allocs, 1);
  return __libc_malloc(n);
}
void *calloc(size_t k, size_t n) {
  atomic_fetch_add(&heap_allocs, 1);
  return __libc_calloc(k, n);
}
void *realloc(void *p, size_t n) {
  atomic_fetch_add(&heap_allocs, 1);
  return __libc_realloc(p, n);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Builds the sensing problem and GD through the library, exactly as `saddle run` does. */
static sd_experiment *make(int n, int m) {
  char path[] = "/tmp/bench-sensing-XXXXXX.yaml";
  int fd = mkstemps(path, 5);
  FILE *f = fdopen(fd, "w");
  fprintf(f, "problem: {kind: sensing, n: %d, rank: 2, width: 0, measurements: %d}\n"
             "init: {scale: 1.0e-3}\ndynamics: {kind: gd, lr: 0.01}\nrun: {max_steps: 1}\n", n, m);
  fclose(f);
  sd_experiment *e = NULL;
  sd_status rc = sd_experiment_prepare(path, 0, NULL, &e);
  remove(path);
  if (rc != SD_OK) {
    fprintf(stderr, "bench: %s\n", sd_error_message());
    exit(1);
  }
  return e;
}

typedef struct {
  double secs;           /* best time of one repetition */
  unsigned long allocs;  /* heap allocations inside the timed loops */
  unsigned long sd_allocs;
} timing;

/* Best of 5 batches, each long enough (≥ 0.1 s) to swamp the clock. */
static timing best_of(void (*fn)(void *), void *ctx) {
  int reps = 1;
  for (;;) {
    double t0 = now();
    for (int i = 0; i < reps; i++) fn(ctx);
    if (now() - t0 > 0.1) break;
    reps *= 2;
  }
  timing t = {.secs = 1e300};
  unsigned long h0 = atomic_load(&heap_allocs), s0 = sd_alloc_count();
  for (int b = 0; b < 5; b++) {
    double t0 = now();
    for (int i = 0; i < reps; i++) fn(ctx);
    double s = (now() - t0) / reps;
    if (s < t.secs) t.secs = s;
  }
  t.allocs = atomic_load(&heap_allocs) - h0;
  t.sd_allocs = sd_alloc_count() - s0;
  return t;
}

typedef struct {
  sd_problem *p;
  sd_dynamics *d;
  double *theta;
} step_ctx;

static void one_step(void *c) {
  step_ctx *s = c;
  double loss;
  s->d->ops->step(s->d, s->p, s->theta, &loss);
}

typedef struct {
  int rows, cols;
  double *A, *x, *y;
} gemv_ctx;

static void gemv_pair(void *c) {
  gemv_ctx *g = c;
  cblas_dgemv(CblasRowMajor, CblasNoTrans, g->rows, g->cols, 1.0, g->A, g->cols, g->x, 1, -1.0, g->y, 1);
  cblas_dgemv(CblasRowMajor, CblasTrans, g->rows, g->cols, 1.0, g->A, g->cols, g->y, 1, 0.0, g->x, 1);
}



int main(int argc, char **argv) {
  int quick = 0, threads = 1;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) quick = 1;
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: bench_sensing [--quick] [--threads N]\n");
      return 2;
    }
  }
  openblas_set_num_threads(threads);
  const int sizes[][2] = {{20, 150}, {50, 1000}, {100, 2000}, {150, 4000}};
  int nsizes = quick ? 2 : 4;
  printf("# one GD step of `sensing` (rank 2, width n) vs a plain dgemv pair over the same m·n² doubles\n");
  printf("# %s, %d thread(s)\n", openblas_get_config(), threads);
  printf("%5s %6s %9s %12s %10s %12s %7s %14s\n", "n", "m", "A MiB", "step µs", "step GB/s", "dgemv GB/s",
         "ratio", "allocs in loop");
  int all_ok = 1;
  for (int s = 0; s < nsizes; s++) {
    int n = sizes[s][0], m = sizes[s][1];
    sd_experiment *e = make(n, m);
    step_ctx sc;
    sd_experiment_parts(e, &sc.p, &sc.d);
    sc.theta = malloc(sc.p->dim * sizeof(double));
    memcpy(sc.theta, sc.p->theta0, sc.p->dim * sizeof(double));
    timing ts = best_of(one_step, &sc);

    size_t cols = (size_t)n * n;
    gemv_ctx g = {.rows = m, .cols = (int)cols};
    g.A = malloc((size_t)m * cols * sizeof(double));
    g.x = malloc(cols * sizeof(double));
    g.y = malloc((size_t)m * sizeof(double));
    for (size_t i = 0; i < (size_t)m * cols; i++) g.A[i] = (double)(i % 97) * 1e-3;
    for (size_t i = 0; i < cols; i++) g.x[i] = 1e-3;
    for (int i = 0; i < m; i++) g.y[i] = 0.0;
    timing tg = best_of(gemv_pair, &g);

    double bytes = 2.0 * (double)m * (double)cols * 8.0;
    double bw_step = bytes / ts.secs * 1e-9, bw_gemv = bytes / tg.secs * 1e-9;
    printf("%5d %6d %9.1f %12.1f %10.2f %12.2f %6.0f%% %8lu (%lu)\n", n, m, (double)m * cols * 8 / 1048576.0,
           ts.secs * 1e6, bw_step, bw_gemv, 100 * bw_step / bw_gemv, ts.allocs, ts.sd_allocs);
    all_ok &= bw_step >= 0.8 * bw_gemv && ts.allocs == 0;
    free(g.A), free(g.x), free(g.y), free(sc.theta);
    sd_experiment_free(&e);
  }
  printf("# allocs: every heap allocation inside the timed step loop (libsaddle's own in parentheses);\n"
         "# the counter is live: %lu allocations were counted in this process outside the loops\n",
         atomic_load(&heap_allocs));
  printf("# target ≥ 80%% of the dgemv pair and no allocation: %s\n", all_ok ? "met" : "NOT met");
  return 0;
}
