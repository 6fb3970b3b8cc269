/* quadratic.h: the linear-quadratic validation problem L(θ) = ½(θ−θ⋆)ᵀH(θ−θ⋆), whose every dynamics has a
 * closed form. */
#ifndef SADDLE_PROBLEMS_QUADRATIC_H
#define SADDLE_PROBLEMS_QUADRATIC_H

#include "saddle/problem.h"

extern const sd_problem_class sd_problem_quadratic;

#endif
