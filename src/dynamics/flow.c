/* flow.c: exact gradient flow θ̇ = −∇L(θ), integrated by SUNDIALS ARKODE with error control.
 *
 * method erk:  explicit adaptive Runge–Kutta (ERKStep, embedded pairs of order 2–8; default 5, ARKODE's Cash–Karp 6(4)5 in SUNDIALS 6.4)
 *              for non-stiff flows;
 * method dirk: diagonally implicit Runge–Kutta (ARKStep, implicit part only) with Newton iterations and a
 *              matrix-free GMRES (SPGMR) whose Jacobian-vector products are difference quotients of the
 *              gradient, for stiff flows (widely spread Hessian spectra).
 * The integrator steps one step at a time (ARK_ONE_STEP) up to a stop time set at each output time, so the
 * solution at an output time is the integrator's own (no interpolation) and Ctrl-C is answered within a step.
 * Convergence stops the flow through ARKODE root functions: loss − stop.loss_below and
 * ‖∇L‖ − stop.grad_norm_below (each only when set, since each costs an evaluation per step). */
#include <arkode/arkode_arkstep.h>
#include <arkode/arkode_erkstep.h>
#include <cblas.h>
#include <math.h>
#include <nvector/nvector_serial.h>
#include <stdio.h>
#include <string.h>
#include <sunlinsol/sunlinsol_spgmr.h>

#include "saddle/alloc.h"
#include "saddle/dynamics.h"

typedef struct {
  sd_dynamics base;
  sd_problem *p;         /* borrowed: the problem the RHS evaluates */
  int implicit;
  SUNContext ctx;
  N_Vector y;            /* wraps the driver's theta: no copies */
  double *y_data;        /* the theta the vector currently wraps */
  void *mem;             /* ERKStep or ARKStep memory */
  SUNLinearSolver ls;
  double t;              /* time reached */
  double stop_loss, stop_grad;
  double *g;             /* dim: gradient workspace for the root function */
  int n_roots;
  int created;           /* integrator created (lazily, at the first advance, from the driver's theta) */
  int order;
  double rtol, atol, h0;
  double acc[7];         /* statistics of integrators before the last restart */
  int precondition;      /* θ̇ = −P(θ)∇L(θ) through the problem's hook */
  double damping;
  char last_error[512];
} flow;

static int rhs(realtype t, N_Vector y, N_Vector ydot, void *user) {
  (void)t;
  flow *f = user;
  double *yd = N_VGetArrayPointer(ydot);
  double loss = f->p->ops->loss_grad(f->p, N_VGetArrayPointer(y), yd);
  if (f->precondition && f->p->ops->precondition(f->p, N_VGetArrayPointer(y), yd, f->damping) != SD_OK) return 1;
  cblas_dscal((int)f->p->dim, -1.0, yd, 1);
  /* a non-finite loss is recoverable: ARKODE retries with a smaller step, and gives up if it must */
  return isfinite(loss) ? 0 : 1;
}

static int roots(realtype t, N_Vector y, realtype *gout, void *user) {
  (void)t;
  flow *f = user;
  int k = 0;
  if (f->stop_grad > 0) {
    double loss = f->p->ops->loss_grad(f->p, N_VGetArrayPointer(y), f->g);
    if (f->stop_loss > 0) gout[k++] = loss - f->stop_loss;
    gout[k++] = cblas_dnrm2((int)f->p->dim, f->g, 1) - f->stop_grad;
  } else if (f->stop_loss > 0) {
    gout[k++] = f->p->ops->loss_grad(f->p, N_VGetArrayPointer(y), NULL) - f->stop_loss;
  }
  return 0;
}

/* ARKODE's complaints (e.g. why a step failed) are kept for summary.json instead of printed. */
static void on_arkode_error(int code, const char *module, const char *function, char *msg, void *user) {
  flow *f = user;
  snprintf(f->last_error, sizeof f->last_error, "%s: %s (code %d): %s", module, function, code, msg);
}

static sd_status check(int flag, const char *what) {
  if (flag < 0) return sd_error(SD_ERR_NUMERIC, "ARKODE %s failed (flag %d)", what, flag);
  return SD_OK;
}

/* Creates the integrator at the driver's theta at time f->t (0 at first, a checkpoint's time after a restart). */
static sd_status start(flow *f, double *theta) {
  if (!f->y) f->y = N_VMake_Serial((sunindextype)f->p->dim, theta, f->ctx);
  if (!f->y) return sd_error(SD_ERR_NOMEM, "cannot create an N_Vector");
  f->y_data = theta;
  if (f->implicit) {
    f->mem = ARKStepCreate(NULL, rhs, f->t, f->y, f->ctx);
    if (!f->mem) return sd_error(SD_ERR_NOMEM, "cannot create ARKStep");
    f->ls = SUNLinSol_SPGMR(f->y, SUN_PREC_NONE, 0, f->ctx);
    if (!f->ls) return sd_error(SD_ERR_NOMEM, "cannot create SPGMR");
    SD_TRY(check(ARKStepSetErrHandlerFn(f->mem, on_arkode_error, f), "SetErrHandlerFn"));
    SD_TRY(check(ARKStepSetLinearSolver(f->mem, f->ls, NULL), "SetLinearSolver"));
    SD_TRY(check(ARKStepSetUserData(f->mem, f), "SetUserData"));
    SD_TRY(check(ARKStepSStolerances(f->mem, f->rtol, f->atol), "SStolerances"));
    SD_TRY(check(ARKStepSetOrder(f->mem, f->order), "SetOrder"));
    SD_TRY(check(ARKStepSetMaxNumSteps(f->mem, -1), "SetMaxNumSteps"));
    if (f->h0 > 0) SD_TRY(check(ARKStepSetInitStep(f->mem, f->h0), "SetInitStep"));
    if (f->n_roots) SD_TRY(check(ARKStepRootInit(f->mem, f->n_roots, roots), "RootInit"));
  } else {
    f->mem = ERKStepCreate(rhs, f->t, f->y, f->ctx);
    if (!f->mem) return sd_error(SD_ERR_NOMEM, "cannot create ERKStep");
    SD_TRY(check(ERKStepSetErrHandlerFn(f->mem, on_arkode_error, f), "SetErrHandlerFn"));
    SD_TRY(check(ERKStepSetUserData(f->mem, f), "SetUserData"));
    SD_TRY(check(ERKStepSStolerances(f->mem, f->rtol, f->atol), "SStolerances"));
    SD_TRY(check(ERKStepSetOrder(f->mem, f->order), "SetOrder"));
    SD_TRY(check(ERKStepSetMaxNumSteps(f->mem, -1), "SetMaxNumSteps"));
    if (f->h0 > 0) SD_TRY(check(ERKStepSetInitStep(f->mem, f->h0), "SetInitStep"));
    if (f->n_roots) SD_TRY(check(ERKStepRootInit(f->mem, f->n_roots, roots), "RootInit"));
  }
  f->created = 1;
  return SD_OK;
}

static sd_status flow_advance(sd_dynamics *d, sd_problem *p, double *theta, double t_out, double *t_reached,
                              sd_advance_result *result) {
  flow *f = (flow *)d;
  f->p = p;
  if (!f->created) SD_TRY(start(f, theta));
  if (theta != f->y_data) return sd_error(SD_ERR_INTERNAL, "flow: theta moved between calls");
  *result = SD_ADVANCE_REACHED;
  int flag = f->implicit ? ARKStepSetStopTime(f->mem, t_out) : ERKStepSetStopTime(f->mem, t_out);
  SD_TRY(check(flag, "SetStopTime"));
  while (f->t < t_out) {
    if (sd_stop_requested()) {
      *result = SD_ADVANCE_INTERRUPTED;
      break;
    }
    realtype tret = f->t;
    flag = f->implicit ? ARKStepEvolve(f->mem, t_out, f->y, &tret, ARK_ONE_STEP)
                       : ERKStepEvolve(f->mem, t_out, f->y, &tret, ARK_ONE_STEP);
    if (flag < 0) {
      /* blew up (non-finite state) or gave up on a finite one: the driver tells them apart by θ */
      *result = flag == ARK_RHSFUNC_FAIL || flag == ARK_REPTD_RHSFUNC_ERR || flag == ARK_UNREC_RHSFUNC_ERR ? SD_ADVANCE_DIVERGED
                                                                                                        : SD_ADVANCE_FAILED;
      break;
    }
    f->t = tret;
    d->steps++;
    if (flag == ARK_ROOT_RETURN) {
      *result = SD_ADVANCE_CONVERGED;
      break;
    }
    if (flag == ARK_TSTOP_RETURN) f->t = t_out; /* landed exactly on the output time */
  }
  *t_reached = f->t;
  return SD_OK;
}

static void current_stats(const flow *f, double v[7]);

static size_t flow_stats(const sd_dynamics *d, const char **names, double *values, size_t max) {
  const flow *f = (const flow *)d;
  double v[7];
  current_stats(f, v);
  const char *n[] = {"steps", "step_attempts", "error_test_fails", "rhs_evals", "root_evals", "newton_iters",
                     "linear_iters"};
  size_t k = f->implicit ? 7 : 5;
  for (size_t i = 0; i < k && i < max; i++) names[i] = n[i], values[i] = v[i] + f->acc[i];
  return k;
}

/* state: t, the step size ARKODE would try next, the steps taken, and the statistics so far */
static size_t flow_state_size(const sd_dynamics *d) {
  (void)d;
  return 3 + 7;
}

static void flow_state_save(const sd_dynamics *d, double *out) {
  const flow *f = (const flow *)d;
  realtype h = f->h0;
  if (f->created) {
    if (f->implicit) ARKStepGetCurrentStep(f->mem, &h);
    else ERKStepGetCurrentStep(f->mem, &h);
  }
  out[0] = f->t;
  out[1] = h;
  out[2] = (double)d->steps;
  double v[7];
  current_stats(f, v);
  for (int i = 0; i < 7; i++) out[3 + i] = f->acc[i] + v[i];
}

/* Restarts the integrator at the saved time with the saved step size (at the next advance, from theta). */
static sd_status flow_state_load(sd_dynamics *d, const double *in) {
  flow *f = (flow *)d;
  if (f->created) {
    if (f->implicit) ARKStepFree(&f->mem);
    else ERKStepFree(&f->mem);
    f->mem = NULL;
    f->created = 0;
  }
  if (f->ls) {
    SUNLinSolFree(f->ls);
    f->ls = NULL;
  }
  if (f->y) {
    N_VDestroy(f->y);
    f->y = NULL;
  }
  f->t = in[0];
  f->h0 = in[1];
  d->steps = (long)in[2];
  for (int i = 0; i < 7; i++) f->acc[i] = in[3 + i];
  return SD_OK;
}

static void current_stats(const flow *f, double out[7]) {
  long steps = 0, attempts = 0, fails = 0, nfe = 0, nfi = 0, ng = 0, nni = 0, nli = 0;
  if (f->created) {
    if (f->implicit) {
      ARKStepGetNumSteps(f->mem, &steps);
      ARKStepGetNumStepAttempts(f->mem, &attempts);
      ARKStepGetNumErrTestFails(f->mem, &fails);
      ARKStepGetNumRhsEvals(f->mem, &nfe, &nfi);
      if (f->n_roots) ARKStepGetNumGEvals(f->mem, &ng);
      ARKStepGetNumNonlinSolvIters(f->mem, &nni);
      ARKStepGetNumLinIters(f->mem, &nli);
    } else {
      ERKStepGetNumSteps(f->mem, &steps);
      ERKStepGetNumStepAttempts(f->mem, &attempts);
      ERKStepGetNumErrTestFails(f->mem, &fails);
      ERKStepGetNumRhsEvals(f->mem, &nfe);
      if (f->n_roots) ERKStepGetNumGEvals(f->mem, &ng);
    }
  }
  double v[] = {(double)steps, (double)attempts, (double)fails, (double)(nfe + nfi), (double)ng, (double)nni,
                (double)nli};
  memcpy(out, v, sizeof v);
}

static void flow_destroy(sd_dynamics *d) {
  flow *f = (flow *)d;
  if (f->mem) {
    if (f->implicit) ARKStepFree(&f->mem);
    else ERKStepFree(&f->mem);
  }
  if (f->ls) SUNLinSolFree(f->ls);
  if (f->y) N_VDestroy(f->y);
  if (f->ctx) SUNContext_Free(&f->ctx);
  sd_free(f->g);
  sd_free(f);
}

static const char *flow_message(const sd_dynamics *d) { return ((const flow *)d)->last_error; }

static const sd_dynamics_ops FLOW_OPS = {.advance = flow_advance,
                                         .message = flow_message,
                                         .state_size = flow_state_size,
                                         .state_save = flow_state_save,
                                         .state_load = flow_state_load,
                                         .stats = flow_stats,
                                         .destroy = flow_destroy};

static sd_status flow_create(const sd_config *cfg, const sd_problem *p, sd_dynamics **out) {
  flow *f = sd_calloc(1, sizeof *f);
  if (!f) return sd_error(SD_ERR_NOMEM, "out of memory");
  f->base.ops = &FLOW_OPS;
  f->base.t_max = sd_config_real(cfg, "dynamics.t_max");
  f->implicit = !strcmp(sd_config_str(cfg, "dynamics.method"), "dirk");
  f->rtol = sd_config_real(cfg, "dynamics.rtol");
  f->atol = sd_config_real(cfg, "dynamics.atol");
  f->order = (int)sd_config_int(cfg, "dynamics.order");
  f->h0 = sd_config_real(cfg, "dynamics.initial_step");
  f->stop_loss = sd_config_real(cfg, "stop.loss_below");
  f->stop_grad = sd_config_real(cfg, "stop.grad_norm_below");
  f->n_roots = (f->stop_loss > 0) + (f->stop_grad > 0);
  f->precondition = sd_config_bool(cfg, "dynamics.preconditioned");
  f->damping = sd_config_real(cfg, "dynamics.damping");
  sd_status rc = SD_OK;
  if (f->precondition && !p->ops->precondition)
    rc = sd_config_fail(cfg, "dynamics.preconditioned", "problem '%s' has no preconditioner hook",
                        sd_config_str(cfg, "problem.kind"));
  if (rc != SD_OK) {
  } else if (f->implicit && (f->order < 2 || f->order > 5))
    rc = sd_config_fail(cfg, "dynamics.order", "the dirk method has orders 2 to 5, not %d", f->order);
  else if (!f->implicit && (f->order < 2 || f->order > 8))
    rc = sd_config_fail(cfg, "dynamics.order", "the erk method has orders 2 to 8, not %d", f->order);
  if (rc == SD_OK && SUNContext_Create(NULL, &f->ctx) != 0) rc = sd_error(SD_ERR_NOMEM, "cannot create a SUNContext");
  if (rc == SD_OK && f->stop_grad > 0 && !(f->g = sd_malloc(p->dim * sizeof(double))))
    rc = sd_error(SD_ERR_NOMEM, "out of memory");
  if (rc != SD_OK) {
    flow_destroy(&f->base);
    return rc;
  }
  f->p = (sd_problem *)p;
  *out = &f->base;
  return SD_OK;
}

static const sd_param FLOW_PARAMS[] = {
    {"t_max", SD_T_REAL, "100", 1e-300, 1e300, NULL, "end time of the flow"},
    {"method", SD_T_ENUM, "erk", SD_NO_BOUNDS, "erk|dirk",
     "erk: explicit adaptive Runge–Kutta (non-stiff); dirk: implicit, Newton + matrix-free GMRES (stiff)"},
    {"order", SD_T_INT, "5", 2, 8, NULL, "order of the Runge–Kutta method (erk 2–8, dirk 2–5)"},
    {"rtol", SD_T_REAL, "1e-8", 1e-15, 1, NULL, "relative tolerance of the local error"},
    {"atol", SD_T_REAL, "1e-12", 0, 1e300, NULL, "absolute tolerance of the local error"},
    {"initial_step", SD_T_REAL, "0", 0, 1e300, NULL, "first step size (0: ARKODE's estimate)"},
    {"preconditioned", SD_T_BOOL, "false", SD_NO_BOUNDS, NULL, "integrate θ̇ = −P(θ)∇L(θ) with the problem's preconditioner"},
    {"damping", SD_T_REAL, "0", 0, 1e300, NULL, "λ of the preconditioner"},
};

const sd_dynamics_class sd_dynamics_flow = {
    .kind = "flow",
    .summary = "gradient flow θ̇ = −∇L(θ) by ARKODE (adaptive, error-controlled)",
    .params = FLOW_PARAMS,
    .n_params = sizeof FLOW_PARAMS / sizeof FLOW_PARAMS[0],
    .create = flow_create,
};
