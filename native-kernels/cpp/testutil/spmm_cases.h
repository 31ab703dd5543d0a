// Shapes shared by the spmm24 tests: rows = 1, cols not a multiple of 4 or 8,
// tails, n around the vector/tile widths, sizes crossing every block edge
// (k blocks, token blocks of 128, group ranges of 64, column tiles).
#ifndef LOWRANK_SPMM_CASES_H
#define LOWRANK_SPMM_CASES_H
#include <stdint.h>
namespace lrt {
struct SpmmCase { int64_t rows, cols, n; };
static const SpmmCase kSpmmCases[] = {
    {1, 1, 1},     {1, 4, 1},      {1, 5, 3},      {2, 7, 17},     {3, 13, 33},   {1, 2064, 128},
    {5, 3, 40},    {7, 63, 100},   {2, 8, 15},     {33, 4, 64},    {129, 257, 129}, {130, 2063, 77},
    {64, 300, 257}, {257, 521, 16}, {300, 2064, 130}, {11, 66, 300}, {0, 9, 5},   {4, 0, 9},
    {131, 1029, 31}, {3, 4105, 65}};
}  // namespace lrt
#endif
