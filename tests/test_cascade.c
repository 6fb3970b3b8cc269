/* test_cascade.c: the Schur-complement cascade of the symmetric factorization (lowrank.md §4, the unit test
 * `mohammadi24-cascade`). Along the flow Ẋ = (M − XXᵀ)X, M = V diag(Λ₁, −Λ₂) Vᵀ, the blocks of P = ZZᵀ
 * (Z = VᵀX) that the library computes (sd_symfact_blocks, the code behind symfact's observables) obey
 *   Ṡ = −Λ₂S − SΛ₂ − 2S²,  K̇ = −Λ₂K − KΛ₁ − 2SK,  Ṗ₁ = Λ₁P₁ + P₁Λ₁ − 2P₁(I + KᵀK)P₁.
 * The time derivatives are taken by central differences of the library's S, K, P₁ at X ± hẊ; the right-hand
 * sides are written out here from the spec (they are what is being tested against, not a re-implementation).
 *
 * M, V, Λ are built here, not through the symfact problem: the problem wants its eigenvalues in decreasing
 * order, so it cannot take the spec's Λ₂ = diag(0.3, 0, 0, 0.1, 0, 0.7) as listed, and it does not expose V.
 * V is the QR factor (sd_orth) of a Gaussian from the truth stream, as in the problem; nothing in the cascade
 * depends on the order within Λ₂, which an unsorted Λ₂ checks too.
 *
 * Tolerance: the central difference errs by (h²/6)‖F'''‖ (truncation) plus ≈ u·c‖F‖/h from the rounding
 * error of each evaluation of F (u = 1.1e-16; c collects the growth in VᵀX, the Cholesky solve with P₁ and the
 * cancellation in S). With every rate of order one (X = G/√r, Λ, P₁ all O(1)) and h = 1e-6 that is
 * ≈ 1e-12 + 1e-10·c relative to ‖Ḟ‖_F (P₁, quadratic along the line, has only the rounding part). Measured
 * (OpenBLAS, 1 thread): the truncation part of S and K is ≈ 1.4e-4·(h/1e-2)² ≈ 1.4e-12, the total at most
 * 1.6e-10 over the five draws (c ≈ 1). 1e-7 leaves a margin of several hundred for other BLAS builds and draws,
 * while any term of a right-hand side that is wrong by more than 1e-7 of its size fails. The tests below show
 * that the comparison does fail: on four deliberately wrong right-hand sides, and through the h² convergence
 * of the differences (a real discrepancy would leave a floor that no smaller h removes). */
#include <criterion/criterion.h>
#include <math.h>

#include "problems/symfact.h"
#include "saddle/linalg.h"
#include "saddle/rng.h"

enum { N = 9, R1 = 3, R = 6, R2 = N - R1, N_SEEDS = 5 };
static const double LAM1[R1] = {2, 1, 0.5};
static const double LAM2[R2] = {0.3, 0, 0, 0.1, 0, 0.7};
static const double TOL = 1e-7;

/* The blocks: S (R2 × R2), K (R2 × R1, from the library's Kᵀ), P₁ (R1 × R1), row-major. */
typedef struct {
  double S[R2 * R2], K[R2 * R1], P1[R1 * R1];
} blocks;

typedef struct {
  double V[N * N], M[N * N], X[N * R], Xdot[N * R];
} setup;

/* Which right-hand side: the spec's, or one with a deliberate error. */
typedef enum { RHS_SPEC, RHS_NO_SK, RHS_HALF_S2, RHS_NO_KTK, RHS_PLUS_LAM2, N_RHS } rhs_kind;
static const char *const RHS_NAMES[N_RHS] = {"spec", "K̇ without −2SK", "Ṡ with −S² for −2S²", "Ṗ₁ without KᵀK",
                                             "Ṡ with +Λ₂ for −Λ₂"};

static void make_setup(uint64_t seed, setup *s) {
  sd_rng rng;
  double G[N * N];
  sd_rng_init(&rng, seed, SD_STREAM_TRUTH, 0);
  sd_rng_normal_fill(&rng, G, N * N, 1.0);
  cr_assert_eq(sd_orth(N, N, G, s->V), SD_OK);
  double lam[N];
  for (int i = 0; i < R1; i++) lam[i] = LAM1[i];
  for (int i = 0; i < R2; i++) lam[R1 + i] = -LAM2[i];
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      double m = 0;
      for (int k = 0; k < N; k++) m += s->V[i * N + k] * lam[k] * s->V[j * N + k];
      s->M[i * N + j] = m;
    }
  /* X = G/√r: Z = VᵀX has N(0, 1/r) entries, so P₁, S and K are of order one like Λ */
  sd_rng_init(&rng, seed, SD_STREAM_INIT, 0);
  sd_rng_normal_fill(&rng, s->X, N * R, 1.0 / sqrt((double)R));
  /* Ẋ = (M − XXᵀ)X */
  double E[N * N];
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      double x = 0;
      for (int k = 0; k < R; k++) x += s->X[i * R + k] * s->X[j * R + k];
      E[i * N + j] = s->M[i * N + j] - x;
    }
  for (int i = 0; i < N; i++)
    for (int j = 0; j < R; j++) {
      double x = 0;
      for (int k = 0; k < N; k++) x += E[i * N + k] * s->X[k * R + j];
      s->Xdot[i * R + j] = x;
    }
}

/* The library's blocks at X + a·Ẋ. */
static void lib_blocks(const setup *s, double a, blocks *b) {
  double X[N * R], Kt[R1 * R2], work[512];
  cr_assert_leq(sd_symfact_blocks_work(N, R, R1), sizeof work / sizeof work[0]);
  for (int i = 0; i < N * R; i++) X[i] = s->X[i] + a * s->Xdot[i];
  cr_assert_eq(sd_symfact_blocks(N, R, R1, s->V, X, b->P1, Kt, b->S, work), 1, "rank Z₁ < r₁");
  for (int i = 0; i < R2; i++)
    for (int j = 0; j < R1; j++) b->K[i * R1 + j] = Kt[j * R2 + i];
}

/* C (m × p) = A (m × k) B (k × p), row-major. */
static void mm(int m, int k, int p, const double *A, const double *B, double *C) {
  for (int i = 0; i < m; i++)
    for (int j = 0; j < p; j++) {
      double x = 0;
      for (int l = 0; l < k; l++) x += A[i * k + l] * B[l * p + j];
      C[i * p + j] = x;
    }
}

/* The cascade's right-hand sides at b (or a deliberately wrong variant). */
static void rhs(const blocks *b, rhs_kind kind, blocks *d) {
  double S2[R2 * R2], SK[R2 * R1], KtK[R1 * R1], Q[R1 * R1], PQP[R1 * R1];
  mm(R2, R2, R2, b->S, b->S, S2);
  mm(R2, R2, R1, b->S, b->K, SK);
  for (int i = 0; i < R1; i++)
    for (int j = 0; j < R1; j++) {
      double x = 0;
      for (int l = 0; l < R2; l++) x += b->K[l * R1 + i] * b->K[l * R1 + j];
      KtK[i * R1 + j] = x;
    }
  /* Ṡ = −Λ₂S − SΛ₂ − 2S² */
  double sl = kind == RHS_PLUS_LAM2 ? 1.0 : -1.0, s2 = kind == RHS_HALF_S2 ? 1.0 : 2.0;
  for (int i = 0; i < R2; i++)
    for (int j = 0; j < R2; j++) d->S[i * R2 + j] = sl * (LAM2[i] + LAM2[j]) * b->S[i * R2 + j] - s2 * S2[i * R2 + j];
  /* K̇ = −Λ₂K − KΛ₁ − 2SK */
  double sk = kind == RHS_NO_SK ? 0.0 : 2.0;
  for (int i = 0; i < R2; i++)
    for (int j = 0; j < R1; j++) d->K[i * R1 + j] = -(LAM2[i] + LAM1[j]) * b->K[i * R1 + j] - sk * SK[i * R1 + j];
  /* Ṗ₁ = Λ₁P₁ + P₁Λ₁ − 2P₁(I + KᵀK)P₁ */
  for (int i = 0; i < R1 * R1; i++) Q[i] = kind == RHS_NO_KTK ? 0.0 : KtK[i];
  for (int i = 0; i < R1; i++) Q[i * R1 + i] += 1.0;
  double T[R1 * R1];
  mm(R1, R1, R1, b->P1, Q, T);
  mm(R1, R1, R1, T, b->P1, PQP);
  for (int i = 0; i < R1; i++)
    for (int j = 0; j < R1; j++) d->P1[i * R1 + j] = (LAM1[i] + LAM1[j]) * b->P1[i * R1 + j] - 2.0 * PQP[i * R1 + j];
}

/* ‖a − b‖_F / ‖b‖_F */
static double rel(const double *a, const double *b, int len) {
  double num = 0, den = 0;
  for (int i = 0; i < len; i++) num += (a[i] - b[i]) * (a[i] - b[i]), den += b[i] * b[i];
  return sqrt(num / den);
}

/* Relative differences (S, K, P₁) between the central differences with step h and the right-hand side `kind`. */
static void compare(const setup *s, double h, rhs_kind kind, double err[3]) {
  blocks b0, bp, bm, fd, d;
  lib_blocks(s, 0.0, &b0);
  lib_blocks(s, h, &bp);
  lib_blocks(s, -h, &bm);
  for (int i = 0; i < R2 * R2; i++) fd.S[i] = (bp.S[i] - bm.S[i]) / (2 * h);
  for (int i = 0; i < R2 * R1; i++) fd.K[i] = (bp.K[i] - bm.K[i]) / (2 * h);
  for (int i = 0; i < R1 * R1; i++) fd.P1[i] = (bp.P1[i] - bm.P1[i]) / (2 * h);
  rhs(&b0, kind, &d);
  err[0] = rel(fd.S, d.S, R2 * R2);
  err[1] = rel(fd.K, d.K, R2 * R1);
  err[2] = rel(fd.P1, d.P1, R1 * R1);
}

Test(cascade, central_differences_match_the_cascade) {
  double worst[3] = {0, 0, 0};
  for (uint64_t seed = 1; seed <= N_SEEDS; seed++) {
    setup s;
    make_setup(seed, &s);
    double err[3];
    compare(&s, 1e-6, RHS_SPEC, err);
    for (int k = 0; k < 3; k++) worst[k] = fmax(worst[k], err[k]);
    cr_assert_lt(err[0], TOL, "seed %d: Ṡ off by %g (relative)", (int)seed, err[0]);
    cr_assert_lt(err[1], TOL, "seed %d: K̇ off by %g (relative)", (int)seed, err[1]);
    cr_assert_lt(err[2], TOL, "seed %d: Ṗ₁ off by %g (relative)", (int)seed, err[2]);
  }
  cr_log_info("cascade, h = 1e-6, max over %d draws: S %.3g, K %.3g, P1 %.3g", N_SEEDS, worst[0], worst[1], worst[2]);
}

Test(cascade, wrong_right_hand_sides_are_detected) {
  /* each variant changes one block's right-hand side by a term of order one: that block must fail the same
   * comparison by orders of magnitude (≥ 1e-3, ten thousand times the tolerance) on every draw */
  static const int block_of[N_RHS] = {-1, 1, 0, 2, 0};
  static const char *const BLOCK[3] = {"S", "K", "P1"};
  for (int kind = RHS_NO_SK; kind < N_RHS; kind++) {
    double least = INFINITY;
    for (uint64_t seed = 1; seed <= N_SEEDS; seed++) {
      setup s;
      make_setup(seed, &s);
      double err[3];
      compare(&s, 1e-6, (rhs_kind)kind, err);
      int k = block_of[kind];
      least = fmin(least, err[k]);
      cr_assert_gt(err[k], 1e-3, "seed %d, %s: %s still within %g", (int)seed, RHS_NAMES[kind], BLOCK[k], err[k]);
      /* the other blocks are untouched and still agree */
      for (int o = 0; o < 3; o++)
        if (o != k) cr_assert_lt(err[o], TOL, "seed %d, %s: %s off by %g", (int)seed, RHS_NAMES[kind], BLOCK[o], err[o]);
    }
    cr_log_info("wrong rhs (%s): min over draws of the %s error %.3g", RHS_NAMES[kind], BLOCK[block_of[kind]], least);
  }
}

Test(cascade, differences_converge_like_h_squared) {
  /* at h = 1e-2 and 1e-3 truncation dominates for S and K: their error must drop about 100-fold (a genuine
   * mismatch between the library's blocks and the cascade would leave a floor that no smaller h removes).
   * P₁(X + aẊ) = (Z₁ + aŻ₁)(Z₁ + aŻ₁)ᵀ is quadratic in a, so its central difference is exact up to round-off
   * at any h. */
  setup s;
  make_setup(1, &s);
  double e2[3], e3[3];
  compare(&s, 1e-2, RHS_SPEC, e2);
  compare(&s, 1e-3, RHS_SPEC, e3);
  static const char *const BLOCK[2] = {"S", "K"};
  for (int k = 0; k < 2; k++) {
    double ratio = e3[k] / e2[k];
    cr_log_info("%s: error %.3g at h = 1e-2, %.3g at h = 1e-3, ratio %.4f", BLOCK[k], e2[k], e3[k], ratio);
    cr_assert(ratio > 0.005 && ratio < 0.02, "%s: error ratio %g for h 1e-2 → 1e-3, not ≈ 0.01", BLOCK[k], ratio);
  }
  cr_log_info("P1: error %.3g at h = 1e-2", e2[2]);
  cr_assert_lt(e2[2], 1e-12, "P1 is quadratic along the line, yet its central difference errs by %g", e2[2]);
}
