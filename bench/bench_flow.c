/* bench_flow.c: cost of the adaptive gradient flow against fixed-step RK4 and GD at the same measured error.
 *
 * Two bundled experiments, built through sd_experiment_prepare exactly as `saddle run` builds them (the
 * bundled YAML plus command-line style overrides):
 *   saxe14-deep-linear  as bundled (decoupled init a0 = 1e-6, s = 4, 2, 1, 0.5, T = 40): four plateaus;
 *   linear-quadratic    with problem.d=50, problem.h_max=1 (h log-spaced from 1 to 1e-3), dynamics.t_max=1000.
 * Both have a closed-form gradient flow, read through the problems' own observables at the exact time:
 *   deep linear: ‖W2W1 − U diag(u(t)) Vᵀ‖_F / ‖Σ31‖_F with u(t) = s e^{2st}/(e^{2st} − 1 + s/u0), from the
 *                observables u, u_theory and offdiag (P = Uᵀ W2W1 V: ‖P − diag(u(t))‖² = Σ(u − u(t))² + offdiag²);
 *   quadratic:   flow_err = ‖θ − θ⋆ − e^{−Ht}(θ0 − θ⋆)‖ / ‖θ0 − θ⋆‖ (eigendecomposition of H).
 * For each problem and rtol ∈ {1e-6, 1e-10} (atol = 1e-4·rtol) the ARKODE ERK flow (dynamics->ops->advance,
 * statistics from dynamics->ops->stats) is run to T; its error is the target that a plain fixed-step classical
 * RK4 (4 gradient evaluations per step) and GD (1 per step, lr = T/N) must reach: the smallest step count N
 * that does is found by doubling then bisection (exact for RK4, to 1/64 for GD; GD capped).
 * Two error measures: the "at T" (one output time), and "max over t" (eight output times kT/8, the flow
 * stopping at each, RK4/GD with N a multiple of 8), which also sees the transitions between plateaus, where a
 * time-shift error is not yet damped away by convergence to the fixed point.
 *
 * usage: bench_flow [--quick] [--gd-cap N] [--order N] [--profile]
 *   --quick    only the error at T (not the max over the trajectory)
 *   --gd-cap N the most GD steps tried (default 2^22)
 *   --order N  dynamics.order of the flow (default: the schema's, as in the bundled examples)
 *   --profile  also print where the flow spends its steps (steps per unit t in 20 windows) */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "saddle/run.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static sd_experiment *make(const char *example, size_t n_over, char *const *over) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.yaml", sd_examples_dir(), example);
  sd_experiment *e = NULL;
  if (sd_experiment_prepare(path, n_over, over, &e) != SD_OK) {
    fprintf(stderr, "bench_flow: %s: %s\n", path, sd_error_message());
    exit(1);
  }
  return e;
}

/* ---- the exact error of a parameter vector at time t, from the problem's observables */

enum { KIND_DEEPLINEAR, KIND_QUADRATIC, KIND_CHAIN };

typedef struct {
  sd_problem *p;
  int kind;
  double T;
  double *obs;               /* obs_total */
  size_t o_u, o_th, o_off, k; /* deep linear: offsets of u, u_theory, offdiag; k modes */
  size_t o_flow;             /* quadratic: offset of flow_err */
  double norm;               /* deep linear: ‖Σ31‖_F */
  double *y, *g1, *g2, *g3, *g4, *tmp; /* dim: iterate and RK4 stages */
} bench;

static size_t obs_offset(const sd_problem *p, const char *name, size_t *len) {
  size_t off = 0;
  for (size_t i = 0; i < p->n_obs; i++) {
    if (!strcmp(p->obs_names[i], name)) {
      if (len) *len = p->obs_len[i];
      return off;
    }
    off += p->obs_len[i];
  }
  fprintf(stderr, "bench_flow: the problem has no observable '%s'\n", name);
  exit(1);
}

static double exact_error(bench *b, const double *theta, double t) {
  b->p->ops->observe(b->p, theta, t, b->obs);
  if (b->kind == KIND_QUADRATIC || b->kind == KIND_CHAIN) return b->obs[b->o_flow];
  double off = b->obs[b->o_off], s2 = off * off;
  for (size_t a = 0; a < b->k; a++) {
    double x = b->obs[b->o_u + a] - b->obs[b->o_th + a];
    s2 += x * x;
  }
  return sqrt(s2) / b->norm;
}

static void bench_init(bench *b, sd_problem *p, int kind, double T) {
  memset(b, 0, sizeof *b);
  b->p = p, b->kind = kind, b->T = T;
  size_t n = p->dim;
  b->obs = malloc((p->obs_total + 1) * sizeof(double));
  double **w[] = {&b->y, &b->g1, &b->g2, &b->g3, &b->g4, &b->tmp};
  for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) *w[i] = malloc(n * sizeof(double));
  if (kind == KIND_CHAIN) {
    b->o_flow = obs_offset(p, "u_err", NULL); /* |u − u_exact(t)|/s, u_exact from the quadrature */
  } else if (kind == KIND_QUADRATIC) {
    b->o_flow = obs_offset(p, "flow_err", NULL);
  } else {
    b->o_u = obs_offset(p, "u", &b->k);
    b->o_th = obs_offset(p, "u_theory", NULL);
    b->o_off = obs_offset(p, "offdiag", NULL);
    /* L(0) = ½‖Σ31‖² */
    memset(b->tmp, 0, n * sizeof(double));
    b->norm = sqrt(2.0 * p->ops->loss_grad(p, b->tmp, NULL));
  }
}

static void bench_free(bench *b) {
  double *w[] = {b->obs, b->y, b->g1, b->g2, b->g3, b->g4, b->tmp};
  for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) free(w[i]);
}

/* ---- the adaptive flow through the library */

typedef struct {
  double err;          /* max relative error over the output times */
  double evals, steps, fails;
  double secs;         /* best wall time of one run */
  int ok;
} flow_result;

static double flow_stat(sd_dynamics *d, const char *name) {
  const char *names[16];
  double v[16];
  size_t n = d->ops->stats(d, names, v, 16);
  for (size_t i = 0; i < n && i < 16; i++)
    if (!strcmp(names[i], name)) return v[i];
  return NAN;
}

/* One run from θ0 through the output times kT/K; the dynamics is restarted at t = 0 by loading a zero state
 * (time 0, ARKODE's own first step, no steps, no statistics), as a fresh one starts. */
static flow_result flow_once(bench *b, sd_dynamics *d, int K) {
  flow_result r = {.ok = 1};
  double zero[64] = {0};
  if (d->ops->state_size(d) > 64 || d->ops->state_load(d, zero) != SD_OK) {
    fprintf(stderr, "bench_flow: cannot restart the flow\n");
    exit(1);
  }
  memcpy(b->y, b->p->theta0, b->p->dim * sizeof(double));
  double t0 = now();
  for (int k = 1; k <= K; k++) {
    double t_out = b->T * k / K, t_reached = 0;
    sd_advance_result res;
    if (d->ops->advance(d, b->p, b->y, t_out, &t_reached, &res) != SD_OK || res != SD_ADVANCE_REACHED ||
        t_reached != t_out) {
      r.ok = 0;
      break;
    }
    r.err = fmax(r.err, exact_error(b, b->y, t_out));
  }
  r.secs = now() - t0;
  r.evals = flow_stat(d, "rhs_evals");
  r.steps = flow_stat(d, "steps");
  r.fails = flow_stat(d, "error_test_fails");
  return r;
}

/* Best wall time of repeated runs (≥ 3, until 0.2 s are spent). */
static flow_result flow_run(bench *b, sd_dynamics *d, int K) {
  flow_result r = flow_once(b, d, K);
  double spent = r.secs;
  for (int rep = 1; rep < 3 || spent < 0.2; rep++) {
    flow_result again = flow_once(b, d, K);
    spent += again.secs;
    if (again.secs < r.secs) r.secs = again.secs;
    if (rep > 1000) break;
  }
  return r;
}

/* ---- fixed-step methods in the bench, through problem->ops->loss_grad only; no allocation in the loops */

static void rk4_step(bench *b, double h) {
  sd_problem *p = b->p;
  size_t n = p->dim;
  double *y = b->y, *tmp = b->tmp;
  p->ops->loss_grad(p, y, b->g1);
  for (size_t i = 0; i < n; i++) tmp[i] = y[i] - 0.5 * h * b->g1[i];
  p->ops->loss_grad(p, tmp, b->g2);
  for (size_t i = 0; i < n; i++) tmp[i] = y[i] - 0.5 * h * b->g2[i];
  p->ops->loss_grad(p, tmp, b->g3);
  for (size_t i = 0; i < n; i++) tmp[i] = y[i] - h * b->g3[i];
  p->ops->loss_grad(p, tmp, b->g4);
  for (size_t i = 0; i < n; i++) y[i] -= h / 6.0 * (b->g1[i] + 2.0 * b->g2[i] + 2.0 * b->g3[i] + b->g4[i]);
}

static void gd_step(bench *b, double h) {
  sd_problem *p = b->p;
  p->ops->loss_grad(p, b->y, b->g1);
  for (size_t i = 0; i < p->dim; i++) b->y[i] -= h * b->g1[i];
}

enum { RK4, GD };

/* N steps (a multiple of K) of size T/N; the max relative error at the K output times (inf if not finite). */
static double fixed_run(bench *b, int method, long N, int K, double *secs) {
  double h = b->T / (double)N, err = 0;
  long per = N / K;
  memcpy(b->y, b->p->theta0, b->p->dim * sizeof(double));
  double t0 = now();
  for (int k = 1; k <= K; k++) {
    if (method == RK4)
      for (long i = 0; i < per; i++) rk4_step(b, h);
    else
      for (long i = 0; i < per; i++) gd_step(b, h);
    double e = exact_error(b, b->y, b->T * k / K);
    if (!isfinite(e)) {
      err = INFINITY;
      break;
    }
    err = fmax(err, e);
  }
  if (secs) *secs = now() - t0;
  return err;
}

/* Errors already measured, shared by the two tolerances of a problem. */
typedef struct {
  long n[512];
  double err[512];
  int len;
} cache;

static double cached_run(bench *b, cache *c, int method, long N, int K) {
  for (int i = 0; i < c->len; i++)
    if (c->n[i] == N) return c->err[i];
  double e = fixed_run(b, method, N, K, NULL);
  if (c->len < 512) c->n[c->len] = N, c->err[c->len] = e, c->len++;
  return e;
}

/* The smallest N (a multiple of K, at most cap) whose error is ≤ target, by doubling then bisection down to
 * `resolution` (a fraction of N; 0: exact); -1 if even cap steps do not reach it. */
static long search(bench *b, cache *c, int method, int K, double target, long cap, double resolution,
                   double *err_out) {
  long m = 1, capm = cap / K;
  double e;
  while (!((e = cached_run(b, c, method, m * K, K)) <= target)) {
    if (m >= capm) {
      *err_out = e;
      return -1;
    }
    m = 2 * m > capm ? capm : 2 * m;
  }
  long lo = m / 2, hi = m;
  if (lo >= hi) lo = hi - 1;
  *err_out = e;
  for (;;) {
    long gap = (long)(resolution * (double)hi);
    if (hi - lo <= (gap > 1 ? gap : 1)) break;
    long mid = lo + (hi - lo) / 2;
    double em = cached_run(b, c, method, mid * K, K);
    if (em <= target) hi = mid, *err_out = em;
    else lo = mid;
  }
  return hi * K;
}

/* Best wall time of a fixed-step run of N steps (≥ 3 runs, until 0.2 s are spent; one run if it is longer). */
static double fixed_time(bench *b, int method, long N, int K) {
  double best = 1e300, spent = 0, s;
  for (int rep = 0; rep < 1000 && (rep < 3 || spent < 0.2); rep++) {
    fixed_run(b, method, N, K, &s);
    spent += s;
    if (s < best) best = s;
    if (spent > 1.0) break;
  }
  return best;
}

/* ---- one problem */

typedef struct {
  const char *label;
  const char *example;
  int kind;
  const char *over[4];
  size_t n_over;
} problem_spec;

/* the target, judged on the trajectory error (max over t): the error at T alone has decayed on these
 * converging problems, whatever happened on the way */
static char verdicts[8][160];
static int n_verdicts;

static void line(const char *prob, const char *meas, const char *rtol, const char *method, const char *steps,
                 const char *evals, double err, double T, double evals_n, double secs, const char *ratio) {
  char e[32], ev[32], us[32];
  if (isfinite(err)) snprintf(e, sizeof e, "%.2e", err);
  else snprintf(e, sizeof e, "-");
  if (evals_n > 0) snprintf(ev, sizeof ev, "%.1f", evals_n / T);
  else snprintf(ev, sizeof ev, "-");
  if (secs > 0) snprintf(us, sizeof us, "%.2f", secs / T * 1e6);
  else snprintf(us, sizeof us, "-");
  printf("%-19s %-10s %-6s %-12s %10s %11s %10s %10s %10s %9s\n", prob, meas, rtol, method, steps, evals, e, ev, us,
         ratio);
}

static char flow_label[32] = "flow erk";
static char order_over[32];

/* Where the flow spends its steps: steps per unit of t in each of 20 windows of [0, T] (the flow stops at each
 * window's end, which adds a few steps). */
static void profile(const problem_spec *ps, bench *b, sd_dynamics *d, const char *rtol) {
  double zero[64] = {0}, prev = 0;
  d->ops->state_load(d, zero);
  memcpy(b->y, b->p->theta0, b->p->dim * sizeof(double));
  printf("# profile %s rtol %s: flow steps per unit t in 20 windows of [0, %g]:", ps->label, rtol, b->T);
  for (int w = 1; w <= 20; w++) {
    double t_reached;
    sd_advance_result res;
    if (d->ops->advance(d, b->p, b->y, b->T * w / 20, &t_reached, &res) != SD_OK || res != SD_ADVANCE_REACHED) break;
    double s = flow_stat(d, "steps");
    printf(" %.3g", (s - prev) / (b->T / 20));
    prev = s;
  }
  printf("\n");
}

static int want_profile;

static void run_problem(const problem_spec *ps, int quick, long gd_cap) {
  static const double RTOLS[] = {1e-6, 1e-10};
  const int KS[] = {1, 8};
  int n_meas = quick ? 1 : 2;
  cache rk[2] = {{.len = 0}}, gd[2] = {{.len = 0}};
  for (int ri = 0; ri < 2; ri++) {
    char rt[32], at[32], rts[16];
    snprintf(rt, sizeof rt, "dynamics.rtol=%g", RTOLS[ri]);
    snprintf(at, sizeof at, "dynamics.atol=%g", RTOLS[ri] * 1e-4);
    snprintf(rts, sizeof rts, "%g", RTOLS[ri]);
    char *over[8];
    size_t n = 0;
    for (size_t i = 0; i < ps->n_over; i++) over[n++] = (char *)ps->over[i];
    over[n++] = rt, over[n++] = at;
    if (order_over[0]) over[n++] = order_over;
    sd_experiment *e = make(ps->example, n, over);
    sd_problem *p;
    sd_dynamics *d;
    sd_experiment_parts(e, &p, &d);
    if (!d->ops->advance || !d->ops->stats) {
      fprintf(stderr, "bench_flow: %s: the dynamics is not a flow\n", ps->example);
      exit(1);
    }
    bench b;
    bench_init(&b, p, ps->kind, d->t_max);
    for (int mi = 0; mi < n_meas; mi++) {
      int K = KS[mi];
      const char *meas = K == 1 ? "at T" : "max over t";
      flow_result f = flow_run(&b, d, K);
      if (!f.ok) {
        printf("%-19s %-10s %-6s the flow did not reach T\n", ps->label, meas, rts);
        continue;
      }
      char steps[32], evals[32];
      snprintf(steps, sizeof steps, "%.0f", f.steps);
      snprintf(evals, sizeof evals, "%.0f", f.evals);
      line(ps->label, meas, rts, flow_label, steps, evals, f.err, b.T, f.evals, f.secs, "1");

      double err_rk;
      long N = search(&b, &rk[mi], RK4, K, f.err, 1L << 26, 0.0, &err_rk);
      char ratio[32];
      if (N > 0) {
        snprintf(steps, sizeof steps, "%ld", N);
        snprintf(evals, sizeof evals, "%ld", 4 * N);
        snprintf(ratio, sizeof ratio, "%.2f", 4.0 * (double)N / f.evals);
        line("", "", "", "rk4 fixed", steps, evals, err_rk, b.T, 4.0 * (double)N, fixed_time(&b, RK4, N, K), ratio);
        if (ps->kind != KIND_QUADRATIC && K > 1 && n_verdicts < 8)
          snprintf(verdicts[n_verdicts++], sizeof verdicts[0], "#   %-19s rtol %-6s RK4 needs %5.1f× the flow's evaluations: %s",
                   ps->label, rts, 4.0 * (double)N / f.evals, 4.0 * (double)N >= 10.0 * f.evals ? "met" : "NOT met");
      } else {
        line("", "", "", "rk4 fixed", "> 2^26", "-", err_rk, b.T, 0, 0, "-");
      }

      double err_gd;
      N = search(&b, &gd[mi], GD, K, f.err, gd_cap, 1.0 / 64, &err_gd);
      if (N > 0) {
        snprintf(steps, sizeof steps, "%ld", N);
        double q = (double)N / f.evals;
        snprintf(ratio, sizeof ratio, q < 10 ? "%.2f" : "%.0f", q);
        line("", "", "", "gd", steps, steps, err_gd, b.T, (double)N, fixed_time(&b, GD, N, K), ratio);
      } else {
        snprintf(steps, sizeof steps, "> %ld", gd_cap);
        snprintf(ratio, sizeof ratio, "> %.0f", (double)gd_cap / f.evals);
        line("", "", "", "gd (capped)", steps, steps, err_gd, b.T, 0, 0, ratio);
        /* GD is first order: its error at the cap, scaled by 1/N, says roughly how far the cap is from enough */
        if (isfinite(err_gd) && err_gd > f.err)
          printf("%-19s %-10s %-6s   (first-order extrapolation from the cap: N ≈ %.1e steps)\n", "", "", "",
                 (double)gd_cap * err_gd / f.err);
      }
    }
    if (want_profile) profile(ps, &b, d, rts);
    bench_free(&b);
    sd_experiment_free(&e);
  }
}

/* The closed forms are the reference: a very tight flow must agree with them far below the errors above. */
static void reference_check(const problem_spec *ps) {
  char *over[8];
  size_t n = 0;
  for (size_t i = 0; i < ps->n_over; i++) over[n++] = (char *)ps->over[i];
  over[n++] = "dynamics.rtol=1e-13", over[n++] = "dynamics.atol=1e-17";
  if (order_over[0]) over[n++] = order_over;
  sd_experiment *e = make(ps->example, n, over);
  sd_problem *p;
  sd_dynamics *d;
  sd_experiment_parts(e, &p, &d);
  bench b;
  bench_init(&b, p, ps->kind, d->t_max);
  flow_result f = flow_once(&b, d, 8);
  printf("# reference check, %s: flow at rtol 1e-13 (atol 1e-17) vs the closed form, max over t = kT/8: %.2e "
         "(%.0f evaluations)\n", ps->label, f.ok ? f.err : NAN, f.evals);
  bench_free(&b);
  sd_experiment_free(&e);
}

int main(int argc, char **argv) {
  int quick = 0, order = 0;
  long gd_cap = 1L << 22;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) quick = 1;
    else if (!strcmp(argv[i], "--gd-cap") && i + 1 < argc) gd_cap = atol(argv[++i]);
    else if (!strcmp(argv[i], "--order") && i + 1 < argc) order = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--profile")) want_profile = 1;
    else {
      fprintf(stderr, "usage: bench_flow [--quick] [--gd-cap N] [--order N] [--profile]\n");
      return 2;
    }
  }
  if (gd_cap < 8) gd_cap = 8;
  if (order > 0) {
    snprintf(order_over, sizeof order_over, "dynamics.order=%d", order);
    snprintf(flow_label, sizeof flow_label, "flow erk%d", order);
  } else { /* the schema's default order, which the bundled examples use */
    const sd_dynamics_class *fc = sd_dynamics_class_find("flow");
    for (size_t i = 0; fc && i < fc->n_params; i++)
      if (!strcmp(fc->params[i].key, "order"))
        snprintf(flow_label, sizeof flow_label, "flow erk%s", fc->params[i].def);
  }
  openblas_set_num_threads(1);
  const problem_spec probs[] = {
      {"saxe14-deep-linear", "saxe14-deep-linear", KIND_DEEPLINEAR, {NULL}, 0},
      {"linear-quadratic", "linear-quadratic", KIND_QUADRATIC,
       {"problem.d=50", "problem.h_max=1", "dynamics.t_max=1000"}, 3},
      {"saxe14-depth", "saxe14-depth", KIND_CHAIN, {"observe.per_decade=20"}, 1},
  };
  double t0 = now();
  printf("# adaptive ARKODE ERK flow (%s) vs fixed-step RK4 and GD reaching the same error, measured against "
         "the closed-form flow\n", flow_label + 5);
  printf("# saxe14-deep-linear: bundled (T = 40, four plateaus); error ‖W2W1 − W2W1_exact(t)‖_F / ‖Σ31‖_F\n");
  printf("# linear-quadratic: bundled with d = 50, h_max = 1 (h from 1 to 1e-3, log), T = 1000; error flow_err\n");
  printf("# saxe14-depth: bundled (D = 3 chain, a0 = 0.01, T = 200, a power-law plateau to t = 99); error u_err\n");
  printf("# atol = 1e-4·rtol; RK4 N: smallest by bisection; GD N: within 1/64, capped at %ld steps; %s, 1 thread\n",
         gd_cap, openblas_get_config());
  printf("%-19s %-10s %-6s %-12s %10s %11s %10s %10s %10s %9s\n", "problem", "error", "rtol", "method", "steps",
         "grad evals", "rel err", "evals/t", "µs/t", "evals÷flow");
  for (size_t i = 0; i < sizeof probs / sizeof probs[0]; i++) run_problem(&probs[i], quick, gd_cap);
  for (size_t i = 0; i < sizeof probs / sizeof probs[0]; i++) reference_check(&probs[i]);
  printf("# target: the flow needs ≥ 10× fewer gradient evaluations than fixed-step RK4 for the same trajectory error "
         "(max over t) on a problem with a plateau:\n");
  for (int i = 0; i < n_verdicts; i++) printf("%s\n", verdicts[i]);
  printf("# total %.1f s\n", now() - t0);
  return 0;
}
