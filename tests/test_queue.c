/* tests/test_queue.c — the pure rules of queue control
 * (daemon/queue_rules.c): priority within a user's queue, what a --after
 * dependency says in each state of the job it names, when retention
 * expires a finished job, and what `wait` calls diagnosed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "queue.h"

/* The state names, as daemon/jobs.c spells them (jobs.c itself needs the
 * whole daemon; its table is what a message shows). */
const char *fl_job_state_name(fl_job_state s) {
  static const char *const names[] = {"queued", "running", "done",
                                      "failed", "cancelled", "rejected"};
  return names[s];
}

static fl_job job(uint64_t number, int priority) {
  fl_job j;
  memset(&j, 0, sizeof j);
  j.number = number;
  j.priority = priority;
  snprintf(j.id, sizeof j.id, "j%llu", (unsigned long long)number);
  return j;
}

static void test_priority_then_submission_order(void **s) {
  (void)s;
  fl_job a = job(1, 0), b = job(2, 5), c = job(3, 5), d = job(4, -1);
  assert_true(fl_queue_before(&b, &a));  /* higher priority first */
  assert_false(fl_queue_before(&a, &b));
  assert_true(fl_queue_before(&b, &c));  /* equal: submission order */
  assert_false(fl_queue_before(&c, &b));
  assert_true(fl_queue_before(&a, &d));  /* negative: after the default */
  assert_false(fl_queue_before(&a, &a));
}

static void test_dependency_states(void **s) {
  (void)s;
  char why[512] = "";
  fl_job j = job(5, 0), dep = job(3, 0);
  assert_int_equal(fl_dep_state_of(&j, &dep, why, sizeof why), FL_DEP_NONE);
  snprintf(j.after, sizeof j.after, "j3");
  dep.state = FL_JOB_QUEUED;
  assert_int_equal(fl_dep_state_of(&j, &dep, why, sizeof why), FL_DEP_WAIT);
  dep.state = FL_JOB_RUNNING;
  assert_int_equal(fl_dep_state_of(&j, &dep, why, sizeof why), FL_DEP_WAIT);
  dep.state = FL_JOB_DONE;
  assert_int_equal(fl_dep_state_of(&j, &dep, why, sizeof why), FL_DEP_READY);
  fl_job_state broken[] = {FL_JOB_FAILED, FL_JOB_CANCELLED, FL_JOB_REJECTED};
  for (int i = 0; i < 3; i++) {
    dep.state = broken[i];
    why[0] = '\0';
    assert_int_equal(fl_dep_state_of(&j, &dep, why, sizeof why), FL_DEP_BROKEN);
    assert_non_null(strstr(why, "j3"));
    assert_non_null(strstr(why, fl_job_state_name(broken[i])));
  }
  why[0] = '\0';
  assert_int_equal(fl_dep_state_of(&j, NULL, why, sizeof why), FL_DEP_BROKEN);
  assert_non_null(strstr(why, "no longer exists"));
}

static void test_retention_expiry(void **s) {
  (void)s;
  double day = 86400, t0 = 1.7e9;
  assert_false(fl_retention_expired(t0, t0 + 100 * day, 0)); /* 0: never */
  assert_false(fl_retention_expired(0, t0, 1));              /* end unknown */
  assert_false(fl_retention_expired(t0, t0 + day - 1, 1));
  assert_true(fl_retention_expired(t0, t0 + day, 1));
  assert_false(fl_retention_expired(t0, t0 + 6 * day, 7));
  assert_true(fl_retention_expired(t0, t0 + 8 * day, 7));
}

static void test_diagnosed_as_follow_says(void **s) {
  (void)s;
  fl_job j = job(1, 0);
  assert_false(fl_job_diagnosed(&j));
  snprintf(j.cause, sizeof j.cause, "plateau"); /* an end with a cause */
  assert_true(fl_job_diagnosed(&j));
  j.has_verdict = true; /* a healthy verdict overrules the end's cause */
  j.diagnosed = false;
  assert_false(fl_job_diagnosed(&j));
  j.diagnosed = true;
  assert_true(fl_job_diagnosed(&j));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_priority_then_submission_order),
      cmocka_unit_test(test_dependency_states),
      cmocka_unit_test(test_retention_expiry),
      cmocka_unit_test(test_diagnosed_as_follow_says),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
