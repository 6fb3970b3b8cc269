/* registry.c: the problems and dynamics saddle knows. A new family adds one line here. */
#include <string.h>

#include "problems/asym.h"
#include "problems/chain.h"
#include "problems/deeplinear.h"
#include "problems/quadratic.h"
#include "problems/sensing.h"
#include "problems/symfact.h"
#include "saddle/run.h"

static const sd_problem_class *const PROBLEMS[] = {&sd_problem_sensing, &sd_problem_quadratic, &sd_problem_deeplinear, &sd_problem_symfact, &sd_problem_asym,
                                                      &sd_problem_chain};
static const sd_dynamics_class *const DYNAMICS[] = {&sd_dynamics_gd, &sd_dynamics_momentum, &sd_dynamics_nesterov,
                                                       &sd_dynamics_adam, &sd_dynamics_adamw, &sd_dynamics_scaled, &sd_dynamics_natural, &sd_dynamics_sgd,
                                                       &sd_dynamics_flow};

size_t sd_problem_classes(const sd_problem_class *const **out) {
  *out = PROBLEMS;
  return sizeof PROBLEMS / sizeof PROBLEMS[0];
}

size_t sd_dynamics_classes(const sd_dynamics_class *const **out) {
  *out = DYNAMICS;
  return sizeof DYNAMICS / sizeof DYNAMICS[0];
}

const sd_problem_class *sd_problem_class_find(const char *kind) {
  for (size_t i = 0; i < sizeof PROBLEMS / sizeof PROBLEMS[0]; i++)
    if (kind && !strcmp(PROBLEMS[i]->kind, kind)) return PROBLEMS[i];
  return NULL;
}

const sd_dynamics_class *sd_dynamics_class_find(const char *kind) {
  for (size_t i = 0; i < sizeof DYNAMICS / sizeof DYNAMICS[0]; i++)
    if (kind && !strcmp(DYNAMICS[i]->kind, kind)) return DYNAMICS[i];
  return NULL;
}
