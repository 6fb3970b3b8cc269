/* curvature.h: Hessian–vector products, the extreme Hessian eigenvalues (Lanczos) and the full Hessian
 * spectrum at a point: how to tell a saddle (λ_min < 0) from a minimum (λ_min ≥ 0).
 *
 * Every Hessian–vector product is, unless an exact one is supplied (sd_curvature_set_hvp), a central
 * difference of the problem's exact gradient along v:
 *   Hv ≈ (∇L(θ + hv) − ∇L(θ − hv)) / (2h),   h = ∛ε · max(1, ‖θ‖) / ‖v‖   (ε = DBL_EPSILON)
 * two gradient evaluations each, with error (h²/6)‖∇⁴L[v,v,v]‖ (truncation) + O(ε‖∇L‖/h) (rounding);
 * the rule balances the two, about ε^⅔ ≈ 4e-11 relative to the curvature scale (docs/curvature.md).
 *
 * A workspace (sd_curvature) holds every buffer: sd_curvature_create allocates the Lanczos part,
 * sd_curvature_reserve_spectrum the dense dim×dim part; the computations allocate nothing. A workspace
 * serves one problem dimension and one thread at a time. The problem is borrowed: its loss_grad runs on
 * its own workspaces, so nothing else may use the problem during a call. */
#ifndef SADDLE_CURVATURE_H
#define SADDLE_CURVATURE_H

#include <stddef.h>
#include <stdint.h>

#include "saddle/error.h"
#include "saddle/problem.h"

/* Index of the Philox stream (seed, SD_STREAM_NOISE, this index) that draws Lanczos start vectors
 * ("CURV" in ASCII, far from the small indices problems use). Never change it (it would change every
 * past Lanczos result). */
#define SD_CURVATURE_STREAM_INDEX 0x43555256u

/* sd_curvature_reserve_spectrum refuses larger problems (the dense Hessian needs 8·dim² bytes and
 * 2·dim gradient evaluations): above it use Lanczos. */
#define SD_CURVATURE_SPECTRUM_MAX_DIM 8192

typedef struct sd_curvature sd_curvature;

/* An exact Hessian–vector product: hv ← ∇²L(theta)·v (dim doubles each; hv aliases neither). No
 * allocation. The hook a problem can provide once problem.h has one; until then, passed by the caller. */
typedef sd_status (*sd_hvp_fn)(sd_problem *p, const double *theta, const double *v, double *hv, void *ctx);

/* Allocates a workspace for problems of dimension dim, with room for max_iter Lanczos steps (capped at
 * dim: a Krylov space never exceeds it). *out (NULL on failure) is owned by the caller: sd_curvature_free. */
sd_status sd_curvature_create(size_t dim, int max_iter, sd_curvature **out);
/* Adds the dense part needed by sd_curvature_spectrum: a dim×dim matrix and dsyevd's workspace
 * (about 8·dim² bytes). Setup code only; a second call does nothing. SD_ERR_CONFIG above
 * SD_CURVATURE_SPECTRUM_MAX_DIM. */
sd_status sd_curvature_reserve_spectrum(sd_curvature *ws);
void sd_curvature_free(sd_curvature **ws);

/* Makes every later Hessian–vector product of ws call fn(p, theta, v, hv, ctx) instead of the finite
 * difference; fn = NULL goes back to finite differences. ctx is borrowed. */
void sd_curvature_set_hvp(sd_curvature *ws, sd_hvp_fn fn, void *ctx);

/* The step of the central difference along v at theta: ∛ε · max(1, ‖θ‖) / ‖v‖ (0 when v = 0). */
double sd_hvp_step(double theta_norm, double v_norm);

/* hv ← ∇²L(theta)·v: the exact hook if one is set, else the central difference with sd_hvp_step.
 * theta, v and hv have p->dim doubles; hv aliases neither. SD_ERR_NUMERIC if the result is not finite. */
sd_status sd_curvature_hvp(sd_curvature *ws, sd_problem *p, const double *theta, const double *v, double *hv);
/* The central difference with an explicit step h > 0 (h ≤ 0: the rule), whether or not a hook is set: for
 * step-size studies and tests. */
sd_status sd_curvature_hvp_fd(sd_curvature *ws, sd_problem *p, const double *theta, const double *v, double h,
                              double *hv);

typedef struct {
  int iters;     /* Lanczos steps (one Hessian–vector product each); ≤ 0: the max_iter of create. Capped at
                  * the workspace's max_iter and at dim */
  double tol;    /* stop early once both extreme Ritz residuals are ≤ tol · max(|λ_min|, |λ_max|); 0: never */
  uint64_t seed; /* start vector N(0, I) from Philox (seed, SD_STREAM_NOISE, SD_CURVATURE_STREAM_INDEX) */
} sd_lanczos_options;

typedef struct {
  double lambda_min, lambda_max; /* smallest and largest Ritz values */
  double resid_min, resid_max;   /* ‖Hy − λy‖ of their Ritz pairs (unit y), from the Lanczos recurrence: each
                                  * bounds |λ − an eigenvalue| up to the products' own error (~ε^⅔·‖H‖) */
  int iters;                     /* steps taken = Hessian–vector products */
  int restarts;                  /* invariant subspaces met (β ≈ 0) and left by a fresh orthogonal vector */
  int converged;                 /* the tol test passed (0 when tol = 0) */
} sd_lanczos_result;

/* The extreme eigenvalues of ∇²L(theta) by Lanczos with full reorthogonalization, the tridiagonal
 * eigenproblem by LAPACK dstev. opt may be NULL (all defaults: max_iter steps, tol 0, seed 0). vec_min and
 * vec_max (p->dim doubles each, unit norm) receive the Ritz vectors when not NULL. Deterministic: the same
 * inputs give the same bits (with OPENBLAS_NUM_THREADS=1). */
sd_status sd_curvature_lanczos(sd_curvature *ws, sd_problem *p, const double *theta, const sd_lanczos_options *opt,
                               sd_lanczos_result *res, double *vec_min, double *vec_max);

/* Every eigenvalue of ∇²L(theta), ascending, into eigs (p->dim doubles): H built column by column from dim
 * Hessian–vector products (2·dim gradient evaluations), symmetrized as (H + Hᵀ)/2, eigenvalues by LAPACK
 * dsyevd. *asymmetry (if not NULL) receives ‖H − Hᵀ‖_F/‖H‖_F before symmetrizing: finite-difference
 * error, or a wrong gradient, shows there (0 for H = 0). Needs sd_curvature_reserve_spectrum. */
sd_status sd_curvature_spectrum(sd_curvature *ws, sd_problem *p, const double *theta, double *eigs,
                                double *asymmetry);

/* Gradient evaluations spent by ws so far (2 per finite-difference product): the cost to report. */
long sd_curvature_grad_evals(const sd_curvature *ws);

#endif
