/* asym.h: asymmetric low-rank factorization and sensing M ≈ LRᵀ (Tong, Ma, Chi 2021; Jia et al. 2023). */
#ifndef SADDLE_PROBLEMS_ASYM_H
#define SADDLE_PROBLEMS_ASYM_H

#include "saddle/problem.h"

extern const sd_problem_class sd_problem_asym;

#endif
