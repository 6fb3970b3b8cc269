/* symfact.h: symmetric low-rank factorization ¼‖XXᵀ − M‖² with a possibly indefinite M (Mohammadi et al.). */
#ifndef SADDLE_PROBLEMS_SYMFACT_H
#define SADDLE_PROBLEMS_SYMFACT_H

#include "saddle/problem.h"

extern const sd_problem_class sd_problem_symfact;

#endif
