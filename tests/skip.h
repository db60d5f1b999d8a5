/* tests/skip.h — a skip that ctest sees. cmocka counts a skipped test as
 * passed and its runner exits 0; a test program that skipped any test
 * exits 77 instead (when nothing failed), which ctest reports as skipped
 * (SKIP_RETURN_CODE, tests/CMakeLists.txt) and CI refuses (FL_CI=1,
 * tools/test.sh). Include after <cmocka.h>; main returns
 * FL_TEST_EXIT(cmocka_run_group_tests(...)). */
#ifndef FL_TESTS_SKIP_H
#define FL_TESTS_SKIP_H

#include <stdbool.h>

static bool fl_test_skipped;

/* Say why (printf-style), then skip the current test. */
#define FL_SKIP(...)            \
  do {                          \
    print_message("skipped: "); \
    print_message(__VA_ARGS__); \
    print_message("\n");        \
    fl_test_skipped = true;     \
    skip();                     \
  } while (0)

/* Say why and go on without one part of the current test: the program
 * still exits 77, so the part left out is seen. */
#define FL_SKIP_PART(...)                 \
  do {                                    \
    print_message("skipped in part: ");   \
    print_message(__VA_ARGS__);           \
    print_message("\n");                  \
    fl_test_skipped = true;               \
  } while (0)

#define FL_TEST_EXIT(failed) ((failed) ? (failed) : fl_test_skipped ? 77 : 0)

#endif
