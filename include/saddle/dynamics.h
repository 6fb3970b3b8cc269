/* dynamics.h: the vtable of optimizers and flows. A dynamics sees a problem only through sd_problem_ops. */
#ifndef SADDLE_DYNAMICS_H
#define SADDLE_DYNAMICS_H

#include "saddle/config.h"
#include "saddle/error.h"
#include "saddle/problem.h"

typedef struct sd_dynamics sd_dynamics;

typedef struct {
  /* Advances theta (problem->dim) by one step; *loss receives the loss at theta before the step.
   * No allocation: workspaces come from create(). */
  sd_status (*step)(sd_dynamics *d, sd_problem *p, double *theta, double *loss);
  void (*destroy)(sd_dynamics *d);
} sd_dynamics_ops;

struct sd_dynamics {
  const sd_dynamics_ops *ops;
  double dt; /* continuous time per step (the learning rate of discrete dynamics): t = dt · step */
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

#endif
