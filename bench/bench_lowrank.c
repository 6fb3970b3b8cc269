/* bench_lowrank.c: time one step of GD, ScaledGD and AltScaledGD on asymmetric low-rank factorization
 * (problem `asym`, operator identity, n × n, rank r = width r' = 10) against the BLAS roofline of the same
 * shapes, measured on the same machine in the same run (issue 6).
 *
 * One gradient of f = c‖LRᵀ − M⋆‖² (src/problems/asym.c) is
 *   X = LRᵀ          dgemm NoTrans/Trans   n×n×r'   (2n²r' flops, writes n² doubles)
 *   Z = 2c(X − M⋆)   a loop, a ddot for the loss, a dscal: passes over n² arrays (with c = ½, the bundled
 *                    examples' loss scale used here, the dscal by 2c = 1 returns at once in OpenBLAS: not counted)
 *   ∇L = ZR          dgemm NoTrans/NoTrans n×r'×n (2n²r' flops, reads Z)
 *   ∇R = ZᵀL         dgemm Trans/NoTrans   n×r'×n (2n²r' flops, reads Z again)
 * and ScaledGD adds, per block, the r'×r' Gram matrix (dsyrk), its Cholesky factor (dpotrf) and the solve of the
 * n×r' gradient block (dpotrs). AltScaledGD (scaled_gd with dynamics.alternating: true) computes the whole
 * preconditioned gradient once per block, i.e. twice per step.
 *
 * For each size this prints the step's time (best of interleaved batches), its GFLOP/s and GB/s counted from the
 * work the code does, and its ratio to the "roofline time" of the step: the sum of the best times of the
 * components the step needs, each timed alone here with the same shapes and call forms:
 *   the three dgemm (as above), one streaming pass over n² doubles (a daxpy: reads two arrays and writes one,
 *   the traffic of a fused Z = X − M⋆ that also sums the loss; 2c folds into the products' alpha),
 *   for ScaledGD two dsyrk + dpotrf + dpotrs of the same shapes, and the parameter update (a daxpy over the
 *   2nr' parameters; clipping is off, so sd_clip_gradient makes no pass). AltScaledGD's roofline is that of its needed work: two X products and two passes (the
 *   second block sees the updated L), but only one ZR and one ZᵀL and one Gram solve per block.
 * "roof coded" is the same sum for the work as the code does it (elementwise traffic 4n² doubles per gradient,
 * 4/3 of the daxpy pass by bytes; AltScaledGD: X and the pass per block, each block's own product and Gram
 * solve through the problem's per-block hooks): the step against it shows
 * what running the calls in sequence costs, the step against the first what the structure of the code costs too.
 * It also counts every heap allocation inside the step loop (malloc and friends are interposed below, so
 * OpenBLAS's and glibc's count too) and libsaddle's own (sd_alloc_count). Targets: ≥ 70 % of the roofline at
 * n = 1000, zero allocations.
 *
 * The problem and dynamics are built by sd_experiment_prepare from a YAML file written to /tmp, exactly as
 * `saddle run` builds them; the init and learning rates are those of examples/jia23-kappa.yaml.
 *
 * --profile adds, per size, where the gradient's time goes: a replica of asym.c's identity-operator gradient
 * (grad_matrix + as_loss_grad as of this writing) timed call by call in sequence, and, timed the same way as the
 * steps, that replica next to two rewrites asym.c could adopt (see bench/README.md).
 *
 * usage: bench_lowrank [--quick] [--profile] [--threads N] [N ...] */
#include <cblas.h>
#include <errno.h>
#include <lapacke.h>
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
#include "saddle/run.h"


/* ---------------------------------------------------------------- timing */

/* batches of at least 0.05 s, 9 per measurement; one untimed call before each: the meters take turns, and each
 * batch should measure the steady state of back-to-back calls, as in a run, not the caches the others left */
static const meter_plan PLAN = {.batches = 9, .batch_s = 0.05, .warm_call = 1, .stretch = 0};

/* ---------------------------------------------------------------- the methods, built as a run builds them */

enum { R_TRUE = 10, WIDTH = 10 }; /* rank of M⋆ and r', columns of L and R */
enum { PANEL = 64 };              /* --profile: rows per panel of the panel-fused gradient */
static const double C_LOSS = 0.5; /* problem.loss_scale in the YAML below */

typedef struct {
  const char *name;
  const char *dynamics, *init; /* YAML flow mappings */
  int scaled, alternating;
} method;

/* examples/jia23-kappa.yaml's methods */
static const method METHODS[] = {
    {"gd", "{kind: gd, lr: 0.1}", "{scheme: small_random, scale: 1.0e-2, normalize: n}", 0, 0},
    {"scaled_gd", "{kind: scaled_gd, lr: 0.5}", "{scheme: small_random, scale: 0.1, normalize: none}", 1, 0},
    {"alt_scaled_gd", "{kind: scaled_gd, lr: 0.5, alternating: true}", "{scheme: small_random, scale: 1.0e-2, normalize: n}",
     1, 1},
};
enum { N_METHODS = sizeof METHODS / sizeof METHODS[0] };

typedef struct {
  sd_experiment *e;
  sd_problem *p;
  sd_dynamics *d;
  double *theta;
  double loss;
  sd_status rc;
} bench_step;

static void *xmalloc(size_t bytes) {
  void *p = malloc(bytes);
  if (!p) {
    fprintf(stderr, "bench_lowrank: out of memory (%zu bytes)\n", bytes);
    exit(1);
  }
  return p;
}

/* Writes the experiment to a temporary YAML file and prepares it through the library. */
static void build_step(bench_step *b, int n, const method *m) {
  char path[] = "/tmp/bench-lowrank-XXXXXX.yaml";
  int fd = mkstemps(path, 5);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) {
    fprintf(stderr, "bench_lowrank: cannot write a temporary config: %s\n", strerror(errno));
    exit(1);
  }
  fprintf(f,
          "experiment: bench-lowrank\nseed: 0\n"
          "problem: {kind: asym, rows: %d, cols: %d, rank: %d, width: %d, operator: identity, kappa: 10, loss_scale: 0.5}\n"
          "init: %s\ndynamics: %s\nrun: {max_steps: 1}\n",
          n, n, R_TRUE, WIDTH, m->init, m->dynamics);
  fclose(f);
  sd_status rc = sd_experiment_prepare(path, 0, NULL, &b->e);
  remove(path);
  if (rc != SD_OK) {
    fprintf(stderr, "bench_lowrank: %s at n = %d: %s\n", m->name, n, sd_error_message());
    exit(1);
  }
  sd_experiment_parts(b->e, &b->p, &b->d);
  if (!b->d->ops->step) {
    fprintf(stderr, "bench_lowrank: dynamics '%s' has no step\n", m->name);
    exit(1);
  }
  b->theta = xmalloc(b->p->dim * sizeof *b->theta);
  b->rc = SD_OK;
}

/* Every batch starts from θ₀, so that no batch runs far into convergence. */
static void restart(void *c) {
  bench_step *b = c;
  memcpy(b->theta, b->p->theta0, b->p->dim * sizeof *b->theta);
}

static void one_step(void *c) {
  bench_step *b = c;
  sd_status rc = b->d->ops->step(b->d, b->p, b->theta, &b->loss);
  if (rc != SD_OK) b->rc = rc;
}

/* Whether the timed steps stayed on ordinary numbers (NaN, infinities and subnormals change the speed). */
static int numbers_ok(const bench_step *b) {
  if (b->rc != SD_OK || !isfinite(b->loss) || (b->loss != 0.0 && !isnormal(b->loss))) return 0;
  for (size_t i = 0; i < b->p->dim; i++)
    if (!isnormal(b->theta[i]) && b->theta[i] != 0.0) return 0;
  return 1;
}

/* ---------------------------------------------------------------- the roofline: the same shapes, alone */

typedef struct {
  int n, w;
  double *L, *R, *X, *Z, *M; /* n×w, n×w, n×n, n×n, n×n */
  double *GL, *GR;           /* n×w products */
  double *Q, *K, *G;         /* Gram reference: n×w with QᵀQ = I (repeated solves leave G as it is), w×w, n×w */
  double *theta, *grad;      /* 2nw */
  double *Xb;                /* --profile: a PANEL×n panel */
} ref;

/* X = LRᵀ as asym.c calls it */
static void ref_x(void *c) {
  ref *r = c;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r->n, r->n, r->w, 1.0, r->L, r->w, r->R, r->w, 0.0, r->X, r->n);
}

/* ∇L = ZR */
static void ref_zr(void *c) {
  ref *r = c;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r->n, r->w, r->n, 1.0, r->Z, r->n, r->R, r->w, 0.0, r->GL, r->w);
}

/* ∇R = ZᵀL */
static void ref_ztl(void *c) {
  ref *r = c;
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r->n, r->w, r->n, 1.0, r->Z, r->n, r->L, r->w, 0.0, r->GR, r->w);
}

/* One streaming pass over n² doubles: reads two arrays, writes one (X drifts by −1e-3·M per call, harmlessly). */
static void ref_pass(void *c) {
  ref *r = c;
  cblas_daxpy(r->n * r->n, -1e-3, r->M, 1, r->X, 1);
}

/* One block of the ScaledGD preconditioner: G ← G(QᵀQ)⁻¹ as sd_solve_gram_right does it. */
static void ref_gram(void *c) {
  ref *r = c;
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, r->w, r->n, 1.0, r->Q, r->w, 0.0, r->K, r->w);
  if (LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', r->w, r->K, r->w) != 0 ||
      LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, 'L', r->w, r->n, r->K, r->w, r->G, r->w) != 0) {
    fprintf(stderr, "bench_lowrank: the reference Cholesky failed\n");
    exit(1);
  }
}

/* The parameter update θ ← θ − ηg over the 2nw parameters (clipping is off: sd_clip_gradient makes no pass). */
static void ref_update(void *c) {
  ref *r = c;
  cblas_daxpy(2 * r->n * r->w, -1e-9, r->grad, 1, r->theta, 1);
}

/* Noise in [-0.5, 0.5): a periodic pattern would repeat whole pages, which a hypervisor may merge. */
static void fill_noise(double *x, size_t len, uint64_t seed) {
  uint64_t s = seed * 0x9e3779b97f4a7c15u + 1;
  for (size_t i = 0; i < len; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    x[i] = (double)(s >> 11) * 0x1.0p-53 - 0.5;
  }
}

static void ref_create(ref *r, int n, int w) {
  size_t nn = (size_t)n * n, nw = (size_t)n * w;
  r->n = n, r->w = w;
  double **bufs[] = {&r->L, &r->R, &r->GL, &r->GR, &r->Q, &r->G};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) fill_noise(*bufs[i] = xmalloc(nw * sizeof(double)), nw, i + 1);
  fill_noise(r->X = xmalloc(nn * sizeof(double)), nn, 11);
  fill_noise(r->Z = xmalloc(nn * sizeof(double)), nn, 12);
  fill_noise(r->M = xmalloc(nn * sizeof(double)), nn, 13);
  fill_noise(r->theta = xmalloc(2 * nw * sizeof(double)), 2 * nw, 14);
  fill_noise(r->grad = xmalloc(2 * nw * sizeof(double)), 2 * nw, 15);
  r->K = xmalloc((size_t)w * w * sizeof(double));
  fill_noise(r->Xb = xmalloc((size_t)PANEL * n * sizeof(double)), (size_t)PANEL * n, 16);
  /* Q's column k holds 1/√count at the rows i ≡ k (mod w): orthonormal columns */
  for (int i = 0; i < n; i++)
    for (int k = 0; k < w; k++) {
      int count = n / w + (k < n % w);
      r->Q[(size_t)i * w + k] = i % w == k ? 1.0 / sqrt((double)count) : 0.0;
    }
}

static void ref_free(ref *r) {
  double *bufs[] = {r->L, r->R, r->X, r->Z, r->M, r->GL, r->GR, r->Q, r->K, r->G, r->theta, r->grad, r->Xb};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
}

enum { C_X, C_ZR, C_ZTL, C_PASS, C_GRAM, C_UPDATE, N_COMP };
static void (*const COMP_FN[N_COMP])(void *) = {ref_x, ref_zr, ref_ztl, ref_pass, ref_gram, ref_update};

/* ---------------------------------------------------------------- the work of one step, as the code does it */

typedef struct {
  double flops, bytes;
} work;

/* One asym loss_grad (identity operator): the three products and the elementwise passes (the dscal by 2c = 1
 * is free). */
static work grad_work(double n, double w) {
  return (work){
      3 * 2 * n * n * w + n * n /* X − M⋆ */ + 2 * n * n /* ddot */,
      8 * (2 * n * w + n * n /* X = LRᵀ */ + 3 * n * n /* Z = X − M⋆ */ + n * n /* ddot */ +
           2 * (n * n + 2 * n * w) /* ZR, ZᵀL */)};
}

/* One block of sd_solve_gram_right: dsyrk (upper triangle), dpotrf, dpotrs on an n×w block. */
static work gram_work(double n, double w) {
  return (work){n * w * (w + 1) + w * w * w / 3 + 2 * n * w * w, 8 * (n * w + w * w + 2 * n * w)};
}

/* a daxpy over len */
static work axpy_work(double len) { return (work){2 * len, 8 * 3 * len}; }

static work add(work a, work b, double k) { return (work){a.flops + k * b.flops, a.bytes + k * b.bytes}; }

static work step_work(const method *m, int n_, int w_) {
  double n = n_, w = w_, dim = 2 * n * w;
  work s = grad_work(n, w);
  if (m->scaled) s = add(s, gram_work(n, w), 2.0);
  /* alternating: the per-block hooks make each half-step X, the pass and its own product and Gram solve, so
   * over the step only X = LRᵀ and the elementwise pass come twice */
  if (m->alternating) {
    work xpass = {n * n + 2 * n * n, 8 * (2 * n * w + n * n + 3 * n * n + n * n)};
    xpass.flops += 2 * n * n * w;
    s = add(s, xpass, 1);
  }
  return add(s, axpy_work(dim), 1); /* the alternating step's two daxpy cover dim once */
}

/* Roofline times from the components' best times: the work the step needs, and the work as the code does it. */
static double roof_needed(const method *m, const double *c) {
  double t = c[C_X] + c[C_ZR] + c[C_ZTL] + c[C_PASS] + c[C_UPDATE];
  if (m->scaled) t += 2 * c[C_GRAM];
  if (m->alternating) t += c[C_X] + c[C_PASS];
  return t;
}

static double roof_coded(const method *m, const double *c) {
  double g = c[C_X] + c[C_ZR] + c[C_ZTL] + 4.0 / 3.0 * c[C_PASS] + (m->scaled ? 2 * c[C_GRAM] : 0);
  if (m->alternating) g += c[C_X] + 4.0 / 3.0 * c[C_PASS]; /* per block: X and the pass again, one product each */
  return g + c[C_UPDATE];
}

/* ---------------------------------------------------------------- --profile: the gradient, call by call
 * A replica of asym.c's identity-operator gradient as of this writing (grad_matrix, then the two products of
 * as_loss_grad) on the reference buffers, and two rewrites of it:
 *   fused:  Z computed in place of X by one pass that also sums the loss (eight partial sums, so that it
 *           vectorizes), 2c folded into the products' alpha: two n² arrays instead of three, one pass instead of two;
 *   panels: the same by panels of PANEL rows: X_b = L_b Rᵀ into a PANEL×n buffer that stays in L2, the fused pass
 *           against M⋆'s rows, ∇L_b = Z_b R, ∇R += Z_bᵀ L_b (beta 1 after the first panel): only M⋆ streams. */

static double prof_sink;

static void grad_coded(void *c) {
  ref *r = c;
  int n = r->n, w = r->w;
  size_t nn = (size_t)n * n;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, w, 1.0, r->L, w, r->R, w, 0.0, r->X, n);
  for (size_t i = 0; i < nn; i++) r->Z[i] = r->X[i] - r->M[i];
  prof_sink += cblas_ddot((int)nn, r->Z, 1, r->Z, 1);
  cblas_dscal((int)nn, 2.0 * C_LOSS, r->Z, 1);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, w, n, 1.0, r->Z, n, r->R, w, 0.0, r->GL, w);
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, w, n, 1.0, r->Z, n, r->L, w, 0.0, r->GR, w);
}

/* x ← x − m over len doubles; returns ‖x − m‖². */
static double fused_pass(size_t len, double *restrict x, const double *restrict m) {
  double s[8] = {0};
  size_t i = 0;
  for (; i + 8 <= len; i += 8)
    for (int k = 0; k < 8; k++) {
      double d = x[i + k] - m[i + k];
      s[k] += d * d;
      x[i + k] = d;
    }
  for (; i < len; i++) {
    double d = x[i] - m[i];
    s[0] += d * d;
    x[i] = d;
  }
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

static void grad_fused(void *c) {
  ref *r = c;
  int n = r->n, w = r->w;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, w, 1.0, r->L, w, r->R, w, 0.0, r->X, n);
  prof_sink += fused_pass((size_t)n * n, r->X, r->M);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, w, n, 2.0 * C_LOSS, r->X, n, r->R, w, 0.0, r->GL, w);
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, w, n, 2.0 * C_LOSS, r->X, n, r->L, w, 0.0, r->GR, w);
}

static void grad_panels(void *c) {
  ref *r = c;
  int n = r->n, w = r->w;
  for (int i0 = 0; i0 < n; i0 += PANEL) {
    int b = n - i0 < PANEL ? n - i0 : PANEL;
    const double *Lb = r->L + (size_t)i0 * w;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, n, w, 1.0, Lb, w, r->R, w, 0.0, r->Xb, n);
    prof_sink += fused_pass((size_t)b * n, r->Xb, r->M + (size_t)i0 * n);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, w, n, 2.0 * C_LOSS, r->Xb, n, r->R, w, 0.0,
                r->GL + (size_t)i0 * w, w);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, w, b, 2.0 * C_LOSS, r->Xb, n, Lb, w, i0 ? 1.0 : 0.0, r->GR, w);
  }
}

/* The replica's calls timed one by one, in sequence: per call, the best over batches of its mean time. */
enum { P_X, P_SUB, P_DOT, P_SCAL, P_ZR, P_ZTL, N_PIECES };

static void time_pieces(ref *r, long reps, double *best) {
  int n = r->n, w = r->w;
  size_t nn = (size_t)n * n;
  for (int k = 0; k < N_PIECES; k++) best[k] = INFINITY;
  for (int b = 0; b < PLAN.batches; b++) {
    double sum[N_PIECES] = {0};
    for (long i = 0; i < reps; i++) {
      double t[N_PIECES + 1];
      t[0] = meter_now();
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, w, 1.0, r->L, w, r->R, w, 0.0, r->X, n);
      t[1] = meter_now();
      for (size_t j = 0; j < nn; j++) r->Z[j] = r->X[j] - r->M[j];
      t[2] = meter_now();
      prof_sink += cblas_ddot((int)nn, r->Z, 1, r->Z, 1);
      t[3] = meter_now();
      cblas_dscal((int)nn, 2.0 * C_LOSS, r->Z, 1);
      t[4] = meter_now();
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, w, n, 1.0, r->Z, n, r->R, w, 0.0, r->GL, w);
      t[5] = meter_now();
      cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, w, n, 1.0, r->Z, n, r->L, w, 0.0, r->GR, w);
      t[6] = meter_now();
      for (int k = 0; k < N_PIECES; k++) sum[k] += t[k + 1] - t[k];
    }
    for (int k = 0; k < N_PIECES; k++)
      if (sum[k] / (double)reps < best[k]) best[k] = sum[k] / (double)reps;
  }
}

enum { V_CODED, V_FUSED, V_PANELS, N_VARIANTS };
static void (*const VARIANT_FN[N_VARIANTS])(void *) = {grad_coded, grad_fused, grad_panels};

/* ---------------------------------------------------------------- main */

static const int DEFAULT_SIZES[] = {200, 500, 1000};
enum { TARGET_N = 1000 };
static const double TARGET = 0.70;

static void usage(FILE *f) {
  fprintf(f, "usage: bench_lowrank [--quick] [--profile] [--threads N] [N ...]\n"
             "  times one step of gd, scaled_gd and scaled_gd alternating on `asym` (identity operator, n×n, rank 10,\n"
             "  width 10) against the dgemm/streaming roofline of the same shapes, in the same run\n"
             "  --quick      only n = 200 and 500\n"
             "  --profile    also time asym.c's gradient call by call (a replica) and two rewrites of it\n"
             "  --threads N  OpenBLAS threads (default 1)\n"
             "  N            sizes to run instead of the defaults 200 500 1000\n");
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
  int threads = 1, quick = 0, profile = 0;
  int *sizes = calloc((size_t)argc + 3, sizeof *sizes);
  int n_sizes = 0;
  if (!sizes) return 1;
  for (int i = 1; i < argc; i++) {
    int n, used = 0;
    if (!strcmp(argv[i], "--quick")) {
      quick = 1;
    } else if (!strcmp(argv[i], "--profile")) {
      profile = 1;
    } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
      threads = atoi(argv[++i]);
      if (threads < 1) break;
    } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      free(sizes);
      return 0;
    } else if (sscanf(argv[i], "%d%n", &n, &used) == 1 && !argv[i][used] && n >= WIDTH) {
      sizes[n_sizes++] = n;
    } else {
      threads = 0;
      break;
    }
  }
  if (threads < 1) {
    fprintf(stderr, "bench_lowrank: bad arguments (sizes N >= %d; threads >= 1)\n", WIDTH);
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

  double t_start = meter_now();
  openblas_set_num_threads(threads);
  char cpu[128];
  cpu_name(cpu, sizeof cpu);
  printf("# one step on `asym` (identity operator, n×n, rank %d, width r' = %d) vs the roofline of the same shapes\n",
         R_TRUE, WIDTH);
  printf("# machine: %s, %ld CPU(s) online; %s; core %s; %d thread(s)\n", cpu, sysconf(_SC_NPROCESSORS_ONLN),
         openblas_get_config(), openblas_get_corename(), openblas_get_num_threads());
  printf("# best of %d interleaved batches of >= %.2f s, each after one untimed call (spread: slowest/best - 1);\n"
         "# GFLOP/s, GB/s: the work as coded\n"
         "# (bytes: every array read or written by each call, once; no write-allocate); roof: sum of the best times of\n"
         "# the needed components timed alone (ratio = roof / step), roof coded: of the components as coded;\n"
         "# allocs: libsaddle / all heap%s\n",
         PLAN.batches, PLAN.batch_s, heap_live ? "" : " (WARNING: malloc interposition is not live, heap counts are wrong)");
  fflush(stdout);

  /* widths count bytes: µ and ≥ take one column more than they show */
  printf("%5s %-14s %11s %7s %8s %7s %11s %6s %6s %10s %6s %12s\n", "n", "method", "step µs", "spread", "GFLOP/s", "GB/s",
         "roof µs", "ratio", "≥70%", "coded µs", "ratio", "allocs");
  fflush(stdout);
  int target_seen = 0, target_met = 1, numbers_bad = 0;
  char verdict[256] = "";
  unsigned long lib_total = 0, heap_total = 0, steps_total = 0;
  double *comps = xmalloc((size_t)n_sizes * N_COMP * sizeof *comps);
  enum { N_PROF = N_PIECES + N_VARIANTS + 1 }; /* --profile: pieces, variants, the gd step */
  double *profs = xmalloc((size_t)n_sizes * N_PROF * sizeof *profs);
  for (int s = 0; s < n_sizes; s++) {
    int n = sizes[s];
    bench_step bs[N_METHODS];
    for (int j = 0; j < N_METHODS; j++) build_step(&bs[j], n, &METHODS[j]);
    ref r;
    ref_create(&r, n, WIDTH);

    meter ts[N_METHODS + N_COMP + N_VARIANTS];
    memset(ts, 0, sizeof ts);
    for (int j = 0; j < N_METHODS; j++) ts[j] = (meter){.fn = one_step, .ctx = &bs[j], .reset = restart};
    for (int k = 0; k < N_COMP; k++) ts[N_METHODS + k] = (meter){.fn = COMP_FN[k], .ctx = &r};
    for (int k = 0; k < N_VARIANTS; k++) ts[N_METHODS + N_COMP + k] = (meter){.fn = VARIANT_FN[k], .ctx = &r};
    meter_measure(&PLAN, ts, N_METHODS + N_COMP + (profile ? N_VARIANTS : 0));
    if (profile) {
      double *pr = profs + (size_t)s * N_PROF;
      time_pieces(&r, ts[N_METHODS + N_COMP + V_CODED].reps, pr);
      for (int k = 0; k < N_VARIANTS; k++) pr[N_PIECES + k] = meter_summarize(&PLAN, &ts[N_METHODS + N_COMP + k]).best;
      pr[N_PIECES + N_VARIANTS] = meter_summarize(&PLAN, &ts[0]).best; /* METHODS[0] is gd */
    }

    double *comp = comps + (size_t)s * N_COMP;
    for (int k = 0; k < N_COMP; k++) comp[k] = meter_summarize(&PLAN, &ts[N_METHODS + k]).best;
    for (int j = 0; j < N_METHODS; j++) {
      const method *m = &METHODS[j];
      meter_stats st = meter_summarize(&PLAN, &ts[j]);
      work wk = step_work(m, n, WIDTH);
      double rn = roof_needed(m, comp), rc = roof_coded(m, comp), ratio = rn / st.best;
      int ok = ratio >= TARGET;
      if (n == TARGET_N) {
        target_seen = 1, target_met &= ok;
        size_t used = strlen(verdict);
        snprintf(verdict + used, sizeof verdict - used, "%s%s %s (%.0f%%)", used ? ", " : "", m->name, ok ? "yes" : "NO",
                 100 * ratio);
      }
      if (!numbers_ok(&bs[j])) numbers_bad = 1;
      lib_total += ts[j].lib_allocs, heap_total += ts[j].heap_allocs, steps_total += ts[j].calls;
      char allocs[48];
      snprintf(allocs, sizeof allocs, "%lu / %lu", ts[j].lib_allocs, ts[j].heap_allocs);
      printf("%5d %-14s %10.1f %6.0f%% %8.2f %7.2f %10.1f %5.0f%% %5s %10.1f %5.0f%% %12s\n", n, m->name, st.best * 1e6,
             100 * (st.worst / st.best - 1), wk.flops / st.best * 1e-9, wk.bytes / st.best * 1e-9, rn * 1e6, 100 * ratio,
             ok ? "yes" : "NO", rc * 1e6, 100 * rc / st.best, allocs);
    }
    fflush(stdout);
    ref_free(&r);
    for (int j = 0; j < N_METHODS; j++) {
      free(bs[j].theta);
      sd_experiment_free(&bs[j].e);
    }
  }

  printf("# components alone, best µs (GFLOP/s; GB/s of the n² array read or written):\n"
         "%5s %20s %18s %20s %17s %10s %9s\n",
         "n", "X=LRᵀ dgemm(N,T)", "ZR dgemm(N,N)", "ZᵀL dgemm(T,N)", "daxpy n²", "gram", "update");
  for (int s = 0; s < n_sizes; s++) {
    const double *c = comps + (size_t)s * N_COMP;
    double nn = (double)sizes[s] * sizes[s], fl = 2.0 * nn * WIDTH;
    char col[3][48], pass[48];
    for (int k = 0; k < 3; k++)
      snprintf(col[k], sizeof col[k], "%.1f (%.1f; %.1f)", c[k] * 1e6, fl / c[k] * 1e-9, 8 * nn / c[k] * 1e-9);
    snprintf(pass, sizeof pass, "%.1f (%.1f GB/s)", c[C_PASS] * 1e6, 24 * nn / c[C_PASS] * 1e-9);
    printf("%5d %18s %18s %18s %16s %10.1f %9.1f\n", sizes[s], col[0], col[1], col[2], pass, c[C_GRAM] * 1e6,
           c[C_UPDATE] * 1e6);
  }
  free(comps);
  if (profile) {
    printf("# --profile: the identity-operator gradient, best µs. asym.c's calls replicated and timed one by one in\n"
           "# sequence (sum: their total); then, timed like the steps, the gd step, the whole replica, and two rewrites:\n"
           "# fused (one pass, Z in place of X, 2c in alpha) and panels (the same by %d-row panels that stay in L2)\n"
           "%5s %11s %13s %8s %7s %9s %11s %9s | %9s %9s %9s %9s\n",
           PANEL, "n", "X=LRᵀ", "Z=X−M⋆", "ddot", "dscal", "ZR", "ZᵀL", "sum", "gd step", "replica", "fused", "panels");
    for (int s = 0; s < n_sizes; s++) {
      const double *pr = profs + (size_t)s * N_PROF;
      double sum = 0;
      for (int k = 0; k < N_PIECES; k++) sum += pr[k];
      printf("%5d %9.1f %9.1f %8.1f %7.1f %9.1f %9.1f %9.1f | %9.1f %9.1f %9.1f %9.1f\n", sizes[s], pr[P_X] * 1e6,
             pr[P_SUB] * 1e6, pr[P_DOT] * 1e6, pr[P_SCAL] * 1e6, pr[P_ZR] * 1e6, pr[P_ZTL] * 1e6, sum * 1e6,
             pr[N_PIECES + N_VARIANTS] * 1e6, pr[N_PIECES + V_CODED] * 1e6, pr[N_PIECES + V_FUSED] * 1e6,
             pr[N_PIECES + V_PANELS] * 1e6);
    }
  }
  free(profs);
  printf("# allocations in the step loops: %lu (libsaddle) / %lu (all heap), over %lu steps (calibration included)\n",
         lib_total, heap_total, steps_total);
  if (numbers_bad) printf("# WARNING: the steps failed or reached NaN, infinities or subnormal numbers: timings are not typical\n");
  if (target_seen)
    printf("# target: step >= 70%% of the roofline at n = %d: %s (%s); no allocation: %s\n", TARGET_N,
           target_met ? "met" : "NOT met", verdict, heap_total == 0 && lib_total == 0 ? "met" : "NOT met");
  else
    printf("# target: n = %d not run (--quick or other sizes); no allocation: %s\n", TARGET_N,
           heap_total == 0 && lib_total == 0 ? "met" : "NOT met");
  printf("# %.1f s\n", meter_now() - t_start);
  free(sizes);
  return 0;
}
