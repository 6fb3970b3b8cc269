/* sensing.h: symmetric low-rank matrix sensing (Stöger & Soltanolkotabi 2021), spec lowrank.md §0–§1. */
#ifndef SADDLE_PROBLEMS_SENSING_H
#define SADDLE_PROBLEMS_SENSING_H

#include "saddle/problem.h"

extern const sd_problem_class sd_problem_sensing;

#endif
