/* chain.h: a deep scalar linear chain ½(s − w_D⋯w_1)² (Saxe et al. 2014, depth; networks.md §8.4 claim 2). */
#ifndef SADDLE_PROBLEMS_CHAIN_H
#define SADDLE_PROBLEMS_CHAIN_H

#include "saddle/problem.h"

extern const sd_problem_class sd_problem_chain;

#endif
