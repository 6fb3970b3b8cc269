/* deeplinear.h: two-layer linear network on whitened inputs (Saxe, McClelland, Ganguli 2014). */
#ifndef SADDLE_PROBLEMS_DEEPLINEAR_H
#define SADDLE_PROBLEMS_DEEPLINEAR_H

#include "saddle/problem.h"

extern const sd_problem_class sd_problem_deeplinear;

#endif
