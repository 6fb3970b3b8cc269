/* bench_sensing.c: time one GD step of symmetric matrix sensing against a plain dgemv pair on the same machine.
 *
 * A step reads the stored operator twice (A(UUᵀ) by a dgemv, A^*(res) by a transposed dgemv), so it is
 * memory-bound. The operator is m×cols doubles: cols = n(n+1)/2 when packed (problem.storage: auto, which packs
 * every drawn operator), n² when full. For each size this prints
 *   - the step's bandwidth on the bytes it reads, 2·m·cols·8 per step, next to that of a plain pair of
 *     cblas_dgemv calls (RowMajor NoTrans, then Trans) over another m×cols buffer: their ratio is how close the
 *     step comes to the machine's own roofline (target ≥ 80 %);
 *   - the same step time against a full operator's bytes, 2·m·n²·8, next to a dgemv pair over m×n²: the speedup
 *     over a plain dense implementation (packing halves the traffic, so this exceeds 100 %);
 *   - the heap allocations made inside the step loop: libsaddle's own (sd_alloc_count) and every one of the
 *     process (malloc and friends are interposed below, so OpenBLAS's and glibc's count too). Target: none.
 *
 * The problem and the dynamics are built through the library as a run builds them (config from YAML text, the
 * schemas, resolve, arrays, class->create), with the bundled experiment's init scale and learning rate.
 *
 * --memory-gib G [--n N]: for n (default 250), the largest m whose problem (operator, y, workspaces, counted from
 * src/problems/sensing.c) fits in G GiB, packed and full, their ratio, and GD and ScaledGD steps at each of them
 * against a dgemv pair over the same bytes.
 *
 * usage: bench_sensing [--quick] [--threads N] [--storage auto|full] [N:M ...]
 *        bench_sensing --memory-gib G [--n N] [--threads N] [--storage auto|full] */
#include <cblas.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "saddle/alloc.h"
#include "heap_count.h"
#include "meter.h"
#include "saddle/linalg.h"
#include "saddle/run.h"


/* ---------------------------------------------------------------- timing */

/* batches of ≈ 0.1 s, 7 per measurement (≈ 0.7 s of steps per size); repetitions stretched to fill a batch */
static const meter_plan PLAN = {.batches = 7, .batch_s = 0.1, .warm_call = 0, .stretch = 1};

/* ---------------------------------------------------------------- the problem, built as a run builds it */

static void check(sd_status rc, const char *what) {
  if (rc == SD_OK) return;
  fprintf(stderr, "bench_sensing: %s: %s\n", what, sd_error_message());
  exit(1);
}

typedef struct {
  sd_config *cfg;
  sd_param array_params[8]; /* arrays.<name> keys: borrowed by cfg, so they live as long as it */
  sd_arrays *arrays;
  sd_problem *prob;
  sd_dynamics *dyn;
  double *theta;
  double loss;
  int failed;   /* a step returned an error */
  int borrowed; /* prob (and arrays) belong to another bench_problem: a second dynamics on the same problem */
} bench_problem;

/* b->cfg from YAML text: the bundled experiment's settings (examples/stoger21-phases.yaml) at size n, m, with the
 * given storage and dynamics ("{kind: gd, lr: 0.1}"), with the base, problem, init, arrays.* and dynamics schemas,
 * resolved. Returns the dynamics class. */
static const sd_dynamics_class *make_config(bench_problem *b, int n, int m, const char *storage, const char *dyn_kind,
                                            const char *dyn_settings) {
  char yaml[640];
  snprintf(yaml, sizeof yaml,
           "experiment: bench-sensing\nseed: 0\n"
           "problem: {kind: sensing, n: %d, rank: 2, width: 0, measurements: %d, kappa: 2, loss_scale: 0.25,\n"
           "          storage: %s}\n"
           "init: {scale: 1.0e-6, normalize: width}\n"
           "dynamics: {kind: %s%s}\n",
           n, m, storage, dyn_kind, dyn_settings);
  check(sd_config_load_string("bench_sensing", yaml, &b->cfg), "config");
  const sd_param *base;
  size_t n_base = sd_base_params(&base);
  const sd_problem_class *pc = sd_problem_class_find("sensing");
  const sd_dynamics_class *dc = sd_dynamics_class_find(dyn_kind);
  if (!pc || !dc) {
    fprintf(stderr, "bench_sensing: the library has no 'sensing' problem or no '%s' dynamics\n", dyn_kind);
    exit(1);
  }
  size_t na = 0;
  for (const char *const *a = pc->arrays; *a; a++) {
    if (na == sizeof b->array_params / sizeof b->array_params[0]) {
      fprintf(stderr, "bench_sensing: the sensing problem draws more arrays than this bench knows\n");
      exit(1);
    }
    b->array_params[na++] = (sd_param){*a, SD_T_PATH, "", SD_NO_BOUNDS, NULL, ""};
  }
  check(sd_config_add_schema(b->cfg, "", base, n_base), "schema");
  check(sd_config_add_schema(b->cfg, "problem.", pc->params, pc->n_params), "schema");
  check(sd_config_add_schema(b->cfg, "init.", pc->init_params, pc->n_init_params), "schema");
  check(sd_config_add_schema(b->cfg, "arrays.", b->array_params, na), "schema");
  check(sd_config_add_schema(b->cfg, "dynamics.", dc->params, dc->n_params), "schema");
  check(sd_config_resolve(b->cfg), "config");
  return dc;
}

/* The dynamics of b->cfg on b->prob, and θ. */
static void make_dynamics(bench_problem *b, const sd_dynamics_class *dc) {
  check(dc->create(b->cfg, b->prob, &b->dyn), "dynamics");
  /* what sd_experiment_prepare sets after create (the schedule's factor is 1 for a constant rate) */
  b->dyn->lr_factor = 1.0;
  b->dyn->clip_norm = sd_config_real(b->cfg, "clip.grad_norm");
  b->theta = sd_malloc(b->prob->dim * sizeof *b->theta);
  if (!b->theta) {
    fprintf(stderr, "bench_sensing: out of memory\n");
    exit(1);
  }
}

/* The bundled experiment's settings (examples/stoger21-phases.yaml) at size n, m, with the given storage and
 * dynamics (kind gd, lr 0.1 in the default mode). */
static void build_problem(bench_problem *b, int n, int m, const char *storage, const char *dyn_kind,
                          const char *dyn_settings) {
  const sd_dynamics_class *dc = make_config(b, n, m, storage, dyn_kind, dyn_settings);
  const sd_problem_class *pc = sd_problem_class_find("sensing");
  check(sd_arrays_create(b->cfg, &b->arrays), "arrays");
  check(pc->create(b->cfg, (uint64_t)sd_config_int(b->cfg, "seed"), b->arrays, &b->prob), "problem");
  make_dynamics(b, dc);
}

/* Another dynamics on the problem of owner (same sizes and storage; its own config, gradient workspace and θ). */
static void build_second_dynamics(bench_problem *b, bench_problem *owner, int n, int m, const char *storage,
                                  const char *dyn_kind, const char *dyn_settings) {
  const sd_dynamics_class *dc = make_config(b, n, m, storage, dyn_kind, dyn_settings);
  b->prob = owner->prob;
  b->borrowed = 1;
  make_dynamics(b, dc);
}

static void free_problem(bench_problem *b) {
  sd_free(b->theta);
  sd_dynamics_free(&b->dyn);
  if (!b->borrowed) {
    sd_problem_free(&b->prob);
    sd_arrays_free(&b->arrays);
  }
  sd_config_free(&b->cfg);
}

/* Every batch starts from U_0, so that no batch runs far into convergence (where values could go subnormal). */
static void restart(void *c) {
  bench_problem *b = c;
  memcpy(b->theta, b->prob->theta0, b->prob->dim * sizeof *b->theta);
}

static void one_step(void *c) {
  bench_problem *b = c;
  if (b->dyn->ops->step(b->dyn, b->prob, b->theta, &b->loss) != SD_OK) b->failed = 1;
}

/* Whether the timed steps stayed on ordinary numbers (NaN, infinities and subnormals change the speed). */
static int numbers_ok(const bench_problem *b) {
  if (!isnormal(b->loss)) return 0;
  for (size_t i = 0; i < b->prob->dim; i++)
    if (!isnormal(b->theta[i]) && b->theta[i] != 0.0) return 0;
  return 1;
}

/* ---------------------------------------------------------------- the reference: plain dgemv over m×cols */

typedef struct {
  int rows, cols;
  double *A, *x, *y, *xt;
} gemv_ref;

/* A rows×cols buffer of its own, filled (which also faults it in) with noise like the operator's: a periodic
 * pattern would repeat whole pages, which a hypervisor may merge. NULL members on failure. */
static gemv_ref make_ref(int rows, size_t cols) {
  gemv_ref g = {.rows = rows, .cols = (int)cols};
  size_t elems = (size_t)rows * cols;
  g.A = malloc(elems * sizeof *g.A);
  g.x = malloc(cols * sizeof *g.x);
  g.xt = malloc(cols * sizeof *g.xt);
  g.y = malloc((size_t)rows * sizeof *g.y);
  if (!g.A || !g.x || !g.xt || !g.y) return g;
  uint64_t r = 0x9e3779b97f4a7c15u; /* xorshift64: uniform in [-0.5, 0.5) */
  for (size_t i = 0; i < elems; i++) {
    r ^= r << 13;
    r ^= r >> 7;
    r ^= r << 17;
    g.A[i] = (double)(r >> 11) * 0x1.0p-53 - 0.5;
  }
  for (size_t i = 0; i < cols; i++) g.x[i] = 1e-3 * (double)(i % 7 + 1);
  return g;
}

static void free_ref(gemv_ref *g) {
  free(g->A);
  free(g->x);
  free(g->xt);
  free(g->y);
}

static void gemv_n(void *c) {
  gemv_ref *g = c;
  cblas_dgemv(CblasRowMajor, CblasNoTrans, g->rows, g->cols, 1.0, g->A, g->cols, g->x, 1, 0.0, g->y, 1);
}

static void gemv_t(void *c) {
  gemv_ref *g = c;
  cblas_dgemv(CblasRowMajor, CblasTrans, g->rows, g->cols, 1.0, g->A, g->cols, g->y, 1, 0.0, g->xt, 1);
}

/* ---------------------------------------------------------------- --memory-gib: the largest problem that fits */

/* Bytes the heap holds now (glibc: small blocks in use + mmapped large ones). */
static double heap_in_use(void) {
  struct mallinfo2 mi = mallinfo2();
  return (double)mi.uordblks + (double)mi.hblkhd;
}

/* What a sensing problem of size n (rank 2, width n) holds, in doubles. Per measurement: the operator's row
 * (cols), y_i and res_i — what sensing.c stores per measurement. The part independent of m (workspaces, SVD
 * workspaces, the power shadow's, one dynamics' gradient, the bench's θ) is measured, not counted: the heap's
 * growth while the bench builds the problem at m = 1, less one measurement. create's transient, A^*(y) and its
 * eigenvalues (n² + n, freed inside make_operator), is added to the peak. */
typedef struct {
  double per_m; /* per measurement */
  double fixed; /* independent of m, held while the problem lives */
  double setup; /* held only inside create, at its peak */
} mem_model;

static void build_problem(bench_problem *b, int n, int m, const char *storage, const char *dyn_kind,
                          const char *dyn_settings);
static void free_problem(bench_problem *b);

static mem_model sensing_memory(int n, int packed) {
  double nn = (double)n * n, half = (double)n * (n + 1) / 2;
  mem_model mm;
  mm.per_m = (packed ? half : nn) + 2.0;
  double h0 = heap_in_use();
  bench_problem b = {0};
  build_problem(&b, n, 1, packed ? "auto" : "full", "gd", ", lr: 0.1");
  mm.fixed = (heap_in_use() - h0) / 8.0 - mm.per_m;
  free_problem(&b);
  mm.setup = nn + (double)n;
  return mm;
}

/* The largest m whose peak (create's) fits in budget bytes; 0 if none. */
static long largest_m(const mem_model *mm, double budget) {
  double m = floor((budget / 8.0 - mm->fixed - mm->setup) / mm->per_m);
  return m < 1 ? 0 : m > 1e9 ? (long)1e9 : (long)m; /* problem.measurements ≤ 1e9 */
}

/* A field of /proc/self/status in bytes (VmRSS, VmHWM: resident now, peak resident), or -1. */
static double proc_status_bytes(const char *field) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  double v = -1;
  size_t len = strlen(field);
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, field, len) && line[len] == ':') {
      v = 1024.0 * strtod(line + len + 1, NULL); /* kB */
      break;
    }
  fclose(f);
  return v;
}

static const double GIB = 1073741824.0, MIB = 1048576.0;
enum { ROUNDS = 3 }; /* rounds of PLAN.batches batches per meter in --memory-gib */

/* The settings of ScaledGD here: PrecGD's damping λ_k = √L (examples/xu23-scaledgd-lambda.yaml), since a width-n
 * factor from a tiny init makes UᵀU numerically singular; λ changes nothing in a step's cost. */
static const char SCALED_SETTINGS[] = ", lr: 0.5, damping_rule: sqrt_loss";

/* --memory-gib: for each storage, the largest m whose problem fits in gib GiB at size n; then GD and ScaledGD
 * steps at that m against a dgemv pair over the same m×cols bytes. storages: 1 packed, 2 full, 3 both. */
static int run_memory(double gib, int n, int storages) {
  const int r = 2; /* the bundled experiment's rank; width r' = n */
  double budget = gib * GIB, half = (double)n * (n + 1) / 2, nn = (double)n * n;
  mem_model mm[2] = {sensing_memory(n, 1), sensing_memory(n, 0)};
  long ms[2] = {largest_m(&mm[0], budget), largest_m(&mm[1], budget)};
  const char *names[2] = {"packed", "full"}, *storage_key[2] = {"auto", "full"};
  printf("# the largest sensing problem in %.2f GiB (%.0f bytes) at n = %d (rank %d, width r' = n): per measurement\n"
         "# the operator's row, y_i and res_i; fixed: measured (the heap's growth building the problem, one dynamics\n"
         "# and the bench's θ at m = 1, less that measurement); setup: A^*(y) and its eigenvalues, only inside create\n",
         gib, budget, n, r);
  printf("%-8s %9s %12s %10s %10s %10s %10s %11s\n", "storage", "cols/row", "bytes per m", "fixed MiB", "setup MiB",
         "largest m", "op GiB", "peak GiB");
  for (int k = 0; k < 2; k++) {
    double cols = k ? nn : half;
    printf("%-8s %9.0f %12.0f %10.3f %10.3f %10ld %10.4f %11.4f\n", names[k], cols, 8 * mm[k].per_m,
           8 * mm[k].fixed / MIB, 8 * mm[k].setup / MIB, ms[k], 8 * cols * (double)ms[k] / GIB,
           8 * ((double)ms[k] * mm[k].per_m + mm[k].fixed + mm[k].setup) / GIB);
  }
  if (!ms[0] || !ms[1]) {
    fprintf(stderr, "bench_sensing: %.2f GiB does not hold a sensing problem at n = %d\n", gib, n);
    return 1;
  }
  printf("# largest m, packed / full: %ld / %ld = %.4f (bytes per measurement, full / packed: %.4f; 2n/(n+1) = %.4f)\n",
         ms[0], ms[1], (double)ms[0] / (double)ms[1], mm[1].per_m / mm[0].per_m, 2.0 * n / (n + 1.0));
  printf("# steps: gd (lr 0.1) and scaled_gd (lr 0.5, damping_rule sqrt_loss) on the same problem, each at the\n"
         "# storage's largest m; step GB/s: 2·m·cols·8 bytes per step; pair GB/s: cblas_dgemv NoTrans + Trans over\n"
         "# an m×cols buffer of its own (the same bytes: the bench holds twice the operator); ratio: step / pair;\n"
         "# best of %d rounds of %d interleaved batches of max(1, ~%.1f s) steps; spread: slowest/best - 1\n",
         ROUNDS, PLAN.batches, PLAN.batch_s);
  printf("%-9s %-7s %5s %6s %7s %12s %7s %9s %9s %6s %7s %13s\n", "method", "storage", "n", "m", "op GiB", "step µs",
         "spread", "step GB/s", "pair GB/s", "ratio", "≥80%", "allocs in loop");
  fflush(stdout);

  int numbers_bad = 0;
  unsigned long lib_total = 0, heap_total = 0, steps_total = 0;
  double heap0 = heap_in_use();
  for (int k = 0; k < 2; k++) {
    if (!(storages & (1 << k))) continue;
    int m = (int)ms[k];
    size_t cols = k ? (size_t)n * (size_t)n : (size_t)n * (size_t)(n + 1) / 2;
    bench_problem gd = {0}, sc = {0};
    build_problem(&gd, n, m, storage_key[k], "gd", ", lr: 0.1");
    double built = heap_in_use() - heap0, rss_built = proc_status_bytes("VmRSS"), hwm = proc_status_bytes("VmHWM");
    build_second_dynamics(&sc, &gd, n, m, storage_key[k], "scaled_gd", SCALED_SETTINGS);
    gemv_ref op = make_ref(m, cols);
    if (!op.A || !op.x || !op.xt || !op.y) {
      fprintf(stderr, "bench_sensing: out of memory for the reference buffer (%.1f MiB)\n",
              (double)m * (double)cols * 8 / MIB);
      return 1;
    }
    meter ts[4] = {{.fn = one_step, .ctx = &gd, .reset = restart},
                   {.fn = one_step, .ctx = &sc, .reset = restart},
                   {.fn = gemv_n, .ctx = &op},
                   {.fn = gemv_t, .ctx = &op}};
    /* a batch here is a single step of ~0.5 s: ROUNDS rounds of interleaved batches for enough of them */
    meter_stats acc[4];
    for (int j = 0; j < 4; j++) acc[j] = (meter_stats){1e300, 0};
    for (int round = 0; round < ROUNDS; round++) {
      meter_measure(&PLAN, ts, 4);
      for (int j = 0; j < 4; j++) {
        meter_stats st = meter_summarize(&PLAN, &ts[j]);
        acc[j].best = fmin(acc[j].best, st.best), acc[j].worst = fmax(acc[j].worst, st.worst);
      }
    }
    if (gd.failed || sc.failed) check(SD_ERR_NUMERIC, "step");
    if (!numbers_ok(&gd) || !numbers_ok(&sc)) numbers_bad = 1;
    double bytes = 2.0 * (double)m * (double)cols * 8.0;
    double t_pair = acc[2].best + acc[3].best;
    for (int j = 0; j < 2; j++) {
      meter_stats st = acc[j];
      double ratio = t_pair / st.best;
      char allocs[32];
      snprintf(allocs, sizeof allocs, "%lu / %lu", ts[j].lib_allocs, ts[j].heap_allocs);
      printf("%-9s %-7s %5d %6d %7.3f %11.1f %6.0f%% %9.2f %9.2f %5.0f%% %5s %13s\n", j ? "scaled_gd" : "gd",
             names[k], n, m, bytes / 2 / GIB, st.best * 1e6, 100 * (st.worst / st.best - 1), bytes / st.best * 1e-9,
             bytes / t_pair * 1e-9, 100 * ratio, ratio >= 0.8 ? "yes" : "NO", allocs);
      lib_total += ts[j].lib_allocs, heap_total += ts[j].heap_allocs, steps_total += ts[j].calls;
    }
    printf("#   %s: dgemv NoTrans %.1f µs + Trans %.1f µs; after building problem + gd: heap %.1f MiB (model %.1f),"
           " resident %.1f MiB, peak resident so far %.1f MiB\n",
           names[k], acc[2].best * 1e6, acc[3].best * 1e6, built / MIB,
           8 * ((double)m * mm[k].per_m + mm[k].fixed) / MIB, rss_built / MIB, hwm / MIB);
    if (built > 8 * ((double)m * mm[k].per_m + mm[k].fixed) + 0.25 * MIB)
      printf("# WARNING: the heap holds %.2f MiB more than counted: the sensing problem allocates more than\n"
             "# sensing_memory() in this bench knows (see src/problems/sensing.c), so the largest m is too large\n",
             (built - 8 * ((double)m * mm[k].per_m + mm[k].fixed)) / MIB);
    fflush(stdout);
    free_ref(&op);
    free_problem(&sc);
    free_problem(&gd);
  }
  printf("# allocations in step loop: %lu (libsaddle) / %lu (all heap), over %lu steps (warm-up included)\n",
         lib_total, heap_total, steps_total);
  printf("# bench process: peak resident %.3f GiB (VmHWM: problem + reference buffer + libraries)\n",
         proc_status_bytes("VmHWM") / GIB);
  if (numbers_bad)
    printf("# WARNING: the steps reached NaN, infinities or subnormal numbers: timings are not typical\n");
  return 0;
}

/* ---------------------------------------------------------------- main */

typedef struct {
  int n, m;
} size_nm;

static const size_nm DEFAULT_SIZES[] = {{20, 150}, {50, 1000}, {100, 2000}, {150, 4000}};

static void usage(FILE *f) {
  fprintf(f, "usage: bench_sensing [--quick] [--threads N] [--storage auto|full] [N:M ...]\n"
             "       bench_sensing --memory-gib G [--n N] [--threads N] [--storage auto|full]\n"
             "  times one GD step of the `sensing` problem (rank 2, width n, n×n matrices, m measurements)\n"
             "  against plain dgemv pairs over buffers of the operator's size and of a full operator's\n"
             "  --quick      only the two smallest default sizes (20:150 and 50:1000)\n"
             "  --threads N  OpenBLAS threads (default 1)\n"
             "  --storage S  problem.storage: auto (the default: drawn operators are packed) or full\n"
             "  N:M          sizes to run instead of the defaults 20:150 50:1000 100:2000 150:4000\n"
             "  --memory-gib G  instead: at size n, the largest m whose problem fits in G GiB, packed and full,\n"
             "               and GD and ScaledGD steps at those sizes (both storages unless --storage is given)\n"
             "  --n N        the n of --memory-gib (default 250)\n");
}

/* The CPU's name from /proc/cpuinfo, or "unknown CPU". */
static void cpu_name(char *out, size_t len) {
  snprintf(out, len, "unknown CPU");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[256];
  while (fgets(line, sizeof line, f)) {
    char *colon = strchr(line, ':');
    if (strncmp(line, "model name", 10) || !colon) continue;
    colon += 1 + strspn(colon + 1, " \t");
    colon[strcspn(colon, "\n")] = '\0';
    snprintf(out, len, "%s", colon);
    break;
  }
  fclose(f);
}

int main(int argc, char **argv) {
  int threads = 1, quick = 0, storage_given = 0, mem_n = 250, mem_n_given = 0;
  double mem_gib = 0;
  const char *storage = "auto";
  size_nm *sizes = calloc((size_t)argc + 4, sizeof *sizes); /* at most one per argument, or the defaults */
  int n_sizes = 0;
  if (!sizes) return 1;
  for (int i = 1; i < argc; i++) {
    int n, m, used = 0;
    if (!strcmp(argv[i], "--quick")) {
      quick = 1;
    } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
      threads = atoi(argv[++i]);
      if (threads < 1) break;
    } else if (!strcmp(argv[i], "--storage") && i + 1 < argc &&
               (!strcmp(argv[i + 1], "auto") || !strcmp(argv[i + 1], "full"))) {
      storage = argv[++i];
      storage_given = 1;
    } else if (!strcmp(argv[i], "--memory-gib") && i + 1 < argc) {
      char *end;
      mem_gib = strtod(argv[++i], &end);
      if (*end || !(mem_gib > 0 && mem_gib <= 1024)) {
        threads = 0;
        break;
      }
    } else if (!strcmp(argv[i], "--n") && i + 1 < argc) {
      mem_n = atoi(argv[++i]);
      mem_n_given = 1;
      if (mem_n < 2 || mem_n > 46340) {
        threads = 0;
        break;
      }
    } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else if (sscanf(argv[i], "%d:%d%n", &n, &m, &used) == 2 && !argv[i][used] && n >= 2 && m >= 1 &&
               n <= 46340) { /* rank 2 needs n ≥ 2; n² must fit BLAS's int */
      sizes[n_sizes++] = (size_nm){n, m};
    } else {
      threads = 0;
      break;
    }
  }
  if (mem_gib > 0 ? n_sizes || quick : mem_n_given) threads = 0; /* --memory-gib picks its own sizes */
  if (threads < 1) {
    fprintf(stderr, "bench_sensing: bad arguments (sizes are N:M with 2 <= N <= 46340, M >= 1; threads >= 1;\n"
                    "storage auto or full; --memory-gib G > 0 with --n 2..46340 and no sizes or --quick)\n");
    usage(stderr);
    free(sizes);
    return 2;
  }
  if (!n_sizes) {
    n_sizes = quick ? 2 : (int)(sizeof DEFAULT_SIZES / sizeof DEFAULT_SIZES[0]);
    memcpy(sizes, DEFAULT_SIZES, (size_t)n_sizes * sizeof *sizes);
  }

  /* the counter must see allocations made inside shared libraries, or its zero means nothing */
  unsigned long h0 = heap_count();
  FILE *probe = fopen("/dev/null", "r");
  if (probe) fclose(probe);
  int heap_live = heap_count() > h0;

  openblas_set_num_threads(threads);
  char cpu[128];
  cpu_name(cpu, sizeof cpu);
  int full = !strcmp(storage, "full");
  if (mem_gib > 0) {
    printf("# GD and ScaledGD steps of `sensing` at the largest size that fits in %.2f GiB, vs a plain dgemv pair\n",
           mem_gib);
    printf("# machine: %s, %ld CPU(s) online; %s; core %s; %d thread(s); allocs: libsaddle / all heap%s\n", cpu,
           sysconf(_SC_NPROCESSORS_ONLN), openblas_get_config(), openblas_get_corename(), openblas_get_num_threads(),
           heap_live ? "" : " (WARNING: malloc interposition is not live, heap counts are wrong)");
    fflush(stdout);
    int rc = run_memory(mem_gib, mem_n, storage_given ? (full ? 2 : 1) : 3);
    free(sizes);
    return rc;
  }
  printf("# one GD step of `sensing` (rank 2, width n, storage %s: %s) vs plain dgemv pairs (NoTrans + Trans)\n",
         storage, full ? "m×n² operator" : "m×n(n+1)/2 packed operator");
  printf("# machine: %s, %ld CPU(s) online; %s; core %s; %d thread(s)\n", cpu, sysconf(_SC_NPROCESSORS_ONLN),
         openblas_get_config(), openblas_get_corename(), openblas_get_num_threads());
  printf("# best of %d interleaved batches of about %.1f s each; spread: slowest/best - 1 of the step's batches;\n"
         "# step GB/s: 2·m·cols·8 bytes (the step's reads) per step; pair: dgemv pair over m×cols; ratio: step/pair\n"
         "# dense GB/s: 2·m·n²·8 bytes per step; dense pair: dgemv pair over m×n²; vs dense: dense GB/s / dense pair\n"
         "# allocs: libsaddle / all heap%s\n",
         PLAN.batches, PLAN.batch_s, heap_live ? "" : " (WARNING: malloc interposition is not live, heap counts are wrong)");
  /* widths count bytes: µ and ≥ take one column more than they show */
  printf("%5s %6s %7s %11s %7s %9s %9s %6s %7s %10s %10s %8s %13s\n", "n", "m", "op MiB", "step µs", "spread",
         "step GB/s", "pair GB/s", "ratio", "≥80%", "dense GB/s", "dense pair", "vs dense", "allocs in loop");
  fflush(stdout);

  int all_fast = 1, numbers_bad = 0;
  double worst_ratio = 1e300, worst_dense = 1e300;
  unsigned long lib_total = 0, heap_total = 0, steps_total = 0;
  for (int s = 0; s < n_sizes; s++) {
    int n = sizes[s].n, m = sizes[s].m;
    size_t n2 = (size_t)n * (size_t)n;
    size_t cols = full ? n2 : (size_t)n * (size_t)(n + 1) / 2; /* drawn operators are symmetric: auto packs them */
    bench_problem bp = {0};
    build_problem(&bp, n, m, storage, "gd", ", lr: 0.1");

    /* references over the operator's size and, when packed, over a full operator's */
    gemv_ref op = make_ref(m, cols), dense = full ? op : make_ref(m, n2);
    if (!op.A || !op.x || !op.xt || !op.y || !dense.A || !dense.x || !dense.xt || !dense.y) {
      fprintf(stderr, "bench_sensing: out of memory for the reference buffers (%.1f MiB)\n",
              (double)m * (double)(cols + (full ? 0 : n2)) * 8 / 1048576);
      return 1;
    }
    meter ts[5] = {{.fn = one_step, .ctx = &bp, .reset = restart},
                   {.fn = gemv_n, .ctx = &op},
                   {.fn = gemv_t, .ctx = &op},
                   {.fn = gemv_n, .ctx = &dense},
                   {.fn = gemv_t, .ctx = &dense}};
    meter_measure(&PLAN, ts, full ? 3 : 5);
    if (bp.failed) check(SD_ERR_NUMERIC, "step");
    if (!numbers_ok(&bp)) numbers_bad = 1;
    if (full) ts[3] = ts[1], ts[4] = ts[2];

    double bytes = 2.0 * (double)m * (double)cols * 8.0, dense_bytes = 2.0 * (double)m * (double)n2 * 8.0;
    meter_stats st = meter_summarize(&PLAN, &ts[0]);
    double t_pair = meter_summarize(&PLAN, &ts[1]).best + meter_summarize(&PLAN, &ts[2]).best;
    double t_dense = meter_summarize(&PLAN, &ts[3]).best + meter_summarize(&PLAN, &ts[4]).best;
    double ratio = t_pair / st.best, vs_dense = t_dense / st.best;
    int fast = ratio >= 0.8;
    all_fast &= fast;
    worst_ratio = fmin(worst_ratio, ratio), worst_dense = fmin(worst_dense, vs_dense);
    lib_total += ts[0].lib_allocs, heap_total += ts[0].heap_allocs, steps_total += ts[0].calls;
    char allocs[32];
    snprintf(allocs, sizeof allocs, "%lu / %lu", ts[0].lib_allocs, ts[0].heap_allocs);
    printf("%5d %6d %7.1f %10.1f %6.0f%% %9.2f %9.2f %5.0f%% %5s %10.2f %10.2f %7.0f%% %13s\n", n, m,
           bytes / 2 / 1048576.0, st.best * 1e6, 100 * (st.worst / st.best - 1), bytes / st.best * 1e-9,
           bytes / t_pair * 1e-9, 100 * ratio, fast ? "yes" : "NO", dense_bytes / st.best * 1e-9,
           dense_bytes / t_dense * 1e-9, 100 * vs_dense, allocs);
    fflush(stdout);

    if (!full) free_ref(&dense);
    free_ref(&op);
    free_problem(&bp);
  }

  printf("# allocations in step loop: %lu (libsaddle) / %lu (all heap), over %lu steps (warm-up included)\n",
         lib_total, heap_total, steps_total);
  if (numbers_bad)
    printf("# WARNING: the steps reached NaN, infinities or subnormal numbers: timings are not typical\n");
  printf("# target: step >= 80%% of a dgemv pair over the same bytes at every size: %s (lowest %.0f%%); "
         "vs a dense pair: lowest %.0f%%; no allocation: %s\n",
         all_fast ? "met" : "NOT met", 100 * worst_ratio, 100 * worst_dense,
         heap_total == 0 && lib_total == 0 ? "met" : "NOT met");
  free(sizes);
  return 0;
}
