/* dynamics.h: the vtable of optimizers and flows. A dynamics sees a problem only through sd_problem_ops. */
#ifndef SADDLE_DYNAMICS_H
#define SADDLE_DYNAMICS_H

#include "saddle/config.h"
#include "saddle/error.h"
#include "saddle/problem.h"

typedef struct sd_dynamics sd_dynamics;

/* How a continuous dynamics' advance() ended. */
typedef enum {
  SD_ADVANCE_REACHED,     /* at t_out */
  SD_ADVANCE_CONVERGED,   /* stopped early at a convergence event (stop.loss_below, stop.grad_norm_below) */
  SD_ADVANCE_INTERRUPTED, /* sd_stop_requested() */
  SD_ADVANCE_DIVERGED,    /* non-finite values: the dynamics blew up */
  SD_ADVANCE_FAILED       /* the integrator gave up with finite values (e.g. repeated error-test failures) */
} sd_advance_result;

typedef struct {
  /* Discrete: advances theta (problem->dim) by one step; *loss receives the loss at theta before the step.
   * No allocation: workspaces come from create(). NULL for continuous dynamics. */
  sd_status (*step)(sd_dynamics *d, sd_problem *p, double *theta, double *loss);
  /* Continuous: integrates theta from the time it has reached to exactly t_out, or less on an event;
   * *t_reached receives the time reached. NULL for discrete dynamics. */
  sd_status (*advance)(sd_dynamics *d, sd_problem *p, double *theta, double t_out, double *t_reached,
                       sd_advance_result *result);
  /* Checkpoints: the dynamics' own state (momentum buffers, Adam moments and step count, the flow's time
   * and step size) as state_size() doubles. state_load() puts it back; for the flow it also restarts the
   * integrator there, which the driver does at every checkpoint of every run, so that a resumed run and an
   * uninterrupted one take bit-identical paths. NULL state_size: no state. */
  size_t (*state_size)(const sd_dynamics *d);
  void (*state_save)(const sd_dynamics *d, double *out);
  sd_status (*state_load)(sd_dynamics *d, const double *in);
  /* Optional: the solver's last complaint ("" if none), for summary.json. */
  const char *(*message)(const sd_dynamics *d);
  /* Optional: solver statistics for summary.json ("integrator"); returns how many, writes up to max. */
  size_t (*stats)(const sd_dynamics *d, const char **names, double *values, size_t max);
  void (*destroy)(sd_dynamics *d);
} sd_dynamics_ops;

struct sd_dynamics {
  const sd_dynamics_ops *ops;
  double dt;    /* discrete: the base learning rate η; step k advances t by η·lr_factor */
  double lr_factor; /* discrete: set by the driver before each step from the schedule (1 without one) */
  double clip_norm; /* discrete: clip the gradient to this global norm before use (0: no clipping) */
  double t_max; /* continuous: the end time */
  long steps;   /* continuous: internal steps taken so far (the metrics.csv `step` column) */
};

typedef struct {
  const char *kind;        /* value of dynamics.kind */
  const char *summary;     /* one line */
  const sd_param *params;  /* keys under "dynamics." */
  size_t n_params;
  sd_status (*create)(const sd_config *cfg, const sd_problem *p, sd_dynamics **out);
} sd_dynamics_class;

static inline void sd_dynamics_free(sd_dynamics **d) {
  if (*d) (*d)->ops->destroy(*d);
  *d = NULL;
}

/* The discrete dynamics (conventions in docs/dynamics.md). */
extern const sd_dynamics_class sd_dynamics_gd;       /* θ ← θ − η∇L(θ) */
extern const sd_dynamics_class sd_dynamics_momentum; /* heavy ball */
extern const sd_dynamics_class sd_dynamics_nesterov;
extern const sd_dynamics_class sd_dynamics_adam;
extern const sd_dynamics_class sd_dynamics_adamw;
/* Minibatch SGD through the problem's batch hooks. */
extern const sd_dynamics_class sd_dynamics_sgd;
/* Preconditioned GD through the problem's precondition hook. */
extern const sd_dynamics_class sd_dynamics_scaled;
/* Natural gradient through the problem's Fisher hook. */
extern const sd_dynamics_class sd_dynamics_natural;
/* Gradient flow θ̇ = −∇L(θ) (or −P(θ)∇L(θ)) by SUNDIALS ARKODE with error control. */
extern const sd_dynamics_class sd_dynamics_flow;

/* Learning-rate schedule of discrete dynamics: the factor multiplying η at step k (0-based) of max_steps. */
typedef struct {
  enum { SD_LR_CONSTANT, SD_LR_STEP, SD_LR_COSINE } kind;
  long warmup;       /* linear warm-up over the first `warmup` steps: factor (k+1)/warmup */
  long step_every;   /* step: multiply by step_factor every step_every steps */
  double step_factor;
  double min_factor; /* cosine: decays from 1 to min_factor over the steps after warm-up */
  long max_steps;
} sd_lr_schedule;

double sd_lr_factor(const sd_lr_schedule *s, long k);
/* Scales g (n doubles) so that its norm is at most max_norm (no-op for max_norm <= 0). Returns the norm
 * before clipping (NaN when clipping is off: the norm is not computed then). */
double sd_clip_gradient(double *g, size_t n, double max_norm);

/* Whether a stop was requested (Ctrl-C, SIGTERM); long computations poll it. */
int sd_stop_requested(void);

#endif
