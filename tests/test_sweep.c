/* tests/test_sweep.c — cmocka tests of sweeps (issue 15) without a daemon:
 * the grid (client/sweep.c: --sweep arguments, the expansion over a spec,
 * each error naming the key or value and the fix), one value at a key path
 * (protocol/json_path.c), the new request fields (protocol/request.c:
 * submit's group and sweep, list's group, the group request) with hostile
 * values, and the summary's best-first order (client/render.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "sweep.h"

/* A spec as a user writes it: two dense layers, adam as an object. */
static const char SPEC[] =
    "{\"name\": \"s\", \"data\": {\"train\": {\"csv\": \"d.csv\", "
    "\"label_columns\": [\"label\"]}, \"validation_split\": 0.2}, "
    "\"model\": {\"layers\": [{\"type\": \"dense\", \"units\": 8, "
    "\"activation\": \"relu\"}, {\"type\": \"dense\", \"units\": 3, "
    "\"activation\": \"softmax\"}]}, \"loss\": "
    "\"sparse_categorical_crossentropy\", \"optimizer\": {\"name\": \"adam\", "
    "\"learning_rate\": 0.01}, \"epochs\": 3, \"batch_size\": 16, \"seed\": 5}";

/* ---- helpers ----------------------------------------------------------- */

static void grid_of(fl_sweep_grid *g, const char *const *args, int n) {
  memset(g, 0, sizeof *g);
  for (int i = 0; i < n; i++) {
    fl_error err = {0};
    if (fl_sweep_parse_arg(g, args[i], &err))
      fail_msg("--sweep %s: %s", args[i], err.msg);
  }
}

/* fl_sweep_parse_arg must refuse arg with a message holding want. */
static void arg_refused(fl_sweep_grid *g, const char *arg, const char *want) {
  fl_error err = {0};
  int n = g->n_axes;
  int rc = fl_sweep_parse_arg(g, arg, &err);
  if (rc == 0) fail_msg("--sweep %s was accepted", arg);
  if (!strstr(err.msg, want)) fail_msg("--sweep %s: '%s' lacks '%s'", arg, err.msg, want);
  assert_int_equal(g->n_axes, n);
}

/* Expanding args over SPEC must fail with want in the message. */
static void expand_refused(const char *const *args, int n, const char *want, int code) {
  fl_sweep_grid g;
  grid_of(&g, args, n);
  fl_sweep_points p;
  fl_error err = {0};
  int rc = fl_sweep_expand(SPEC, strlen(SPEC), &g, &p, &err);
  if (rc == 0) fail_msg("%s: the grid was expanded", args[0]);
  if (!strstr(err.msg, want)) fail_msg("%s: '%s' lacks '%s'", args[0], err.msg, want);
  if (code) assert_int_equal(rc, code);
  assert_int_equal(p.n, 0);
  assert_null(p.points);
  fl_sweep_grid_free(&g);
}

/* A number at a key path of a JSON text (paths of keys and indexes). */
static double number_at(const char *json, const char *const *path, int n) {
  fl_json *root = fl_json_parse(json, strlen(json), NULL);
  assert_non_null(root);
  const fl_json *v = root;
  for (int i = 0; i < n; i++) {
    char *end;
    long idx = strtol(path[i], &end, 10);
    v = *end ? fl_json_get(v, path[i]) : fl_json_array_at(v, (size_t)idx);
  }
  double d = -1;
  assert_true(fl_json_number(v, &d));
  fl_json_free(root);
  return d;
}

/* ---- --sweep arguments ------------------------------------------------- */

static void test_values_are_json_scalars_else_strings(void **s) {
  (void)s;
  fl_sweep_grid g;
  const char *args[] = {"k=0.1, 1e-3 ,true,null,\"x,y\"", "act=relu,tanh"};
  /* a quoted value with a comma is still split at it: commas separate */
  memset(&g, 0, sizeof g);
  fl_error err = {0};
  assert_int_equal(fl_sweep_parse_arg(&g, "k=0.1, 1e-3 ,true,null,\"x y\"", &err), 0);
  assert_int_equal(fl_sweep_parse_arg(&g, args[1], &err), 0);
  assert_int_equal(g.n_axes, 2);
  assert_string_equal(g.axes[0].key, "k");
  assert_int_equal(g.axes[0].n_values, 5);
  assert_string_equal(g.axes[0].values[0], "0.1");
  assert_string_equal(g.axes[0].values[1], "0.001");
  assert_string_equal(g.axes[0].values[2], "true");
  assert_string_equal(g.axes[0].values[3], "null");
  assert_string_equal(g.axes[0].values[4], "\"x y\"");
  assert_string_equal(g.axes[1].values[0], "\"relu\"");
  assert_string_equal(g.axes[1].values[1], "\"tanh\"");
  assert_int_equal(fl_sweep_count(&g), 10);
  /* a string with a quote in it is escaped, not broken */
  assert_int_equal(fl_sweep_parse_arg(&g, "name=a\"b", &err), 0);
  assert_string_equal(g.axes[2].values[0], "\"a\\\"b\"");
  fl_sweep_grid_free(&g);
  assert_int_equal(g.n_axes, 0);
}

static void test_argument_errors_name_the_fix(void **s) {
  (void)s;
  fl_sweep_grid g = {0};
  arg_refused(&g, "optimizer.learning_rate", "expected KEY=V1,V2");
  arg_refused(&g, "=1,2", "not a spec key path");
  arg_refused(&g, "a..b=1", "not a spec key path");
  arg_refused(&g, ".a=1", "not a spec key path");
  arg_refused(&g, "a b=1", "not a spec key path");
  arg_refused(&g, "batch_size=", "has no values");
  arg_refused(&g, "batch_size=  ", "has no values");
  arg_refused(&g, "batch_size=1,,2", "an empty value");
  arg_refused(&g, "batch_size=1,2,", "an empty value");
  arg_refused(&g, "batch_size=16,32,16", "given twice");
  arg_refused(&g, "lr=0.1,1e-1", "given twice"); /* the same number */
  char long_key[100];
  memset(long_key, 'k', 80);
  snprintf(long_key + 80, 20, "=1");
  arg_refused(&g, long_key, "at most 63 bytes");
  fl_error err = {0};
  assert_int_equal(fl_sweep_parse_arg(&g, "batch_size=16,32", &err), 0);
  arg_refused(&g, "batch_size=64", "given twice; list all its values in one");
  for (int i = 1; i < FL_SWEEP_MAX_KEYS; i++) {
    char a[32];
    snprintf(a, sizeof a, "k%d=1", i);
    assert_int_equal(fl_sweep_parse_arg(&g, a, &err), 0);
  }
  arg_refused(&g, "seed=1,2", "at most 8 keys");
  fl_sweep_grid_free(&g);
}

/* ---- the expansion ----------------------------------------------------- */

static void test_three_by_two_grid(void **s) {
  (void)s;
  fl_sweep_grid g;
  const char *args[] = {"optimizer.learning_rate=0.1,0.01,0.001",
                        "model.layers.0.units=4,32"};
  grid_of(&g, args, 2);
  fl_sweep_points p;
  fl_error err = {0};
  assert_int_equal(fl_sweep_expand(SPEC, strlen(SPEC), &g, &p, &err), 0);
  assert_int_equal(p.n, 6);
  const double lr[] = {0.1, 0.1, 0.01, 0.01, 0.001, 0.001};
  const double units[] = {4, 32, 4, 32, 4, 32};
  const char *lr_path[] = {"optimizer", "learning_rate"};
  const char *u0[] = {"model", "layers", "0", "units"};
  const char *u1[] = {"model", "layers", "1", "units"};
  const char *bs[] = {"batch_size"};
  for (int i = 0; i < 6; i++) {
    assert_true(number_at(p.points[i].spec, lr_path, 2) == lr[i]);
    assert_true(number_at(p.points[i].spec, u0, 4) == units[i]);
    /* the rest of the spec as it was: the other layer, the batch size */
    assert_true(number_at(p.points[i].spec, u1, 4) == 3);
    assert_true(number_at(p.points[i].spec, bs, 1) == 16);
    assert_true(number_at(p.points[i].values, (const char *[]){"optimizer.learning_rate"}, 1) == lr[i]);
  }
  assert_string_equal(p.points[0].label, "optimizer.learning_rate=0.1 model.layers.0.units=4");
  assert_string_equal(p.points[5].values,
                      "{\"optimizer.learning_rate\":0.001,\"model.layers.0.units\":32}");
  /* every point is a spec the daemon takes */
  for (int i = 0; i < 6; i++) {
    fl_job_spec spec;
    memset(&spec, 0, sizeof spec);
    assert_int_equal(fl_spec_parse(p.points[i].spec, strlen(p.points[i].spec), &spec, &err), 0);
    assert_int_equal(spec.layers[0].units, (int)units[i]);
    fl_spec_free(&spec);
  }
  fl_sweep_points_free(&p);
  assert_null(p.points);
  fl_sweep_grid_free(&g);
}

static void test_string_values_and_default_keys(void **s) {
  (void)s;
  fl_sweep_grid g;
  /* activation: strings without quotes; beta_1: a key the spec leaves at
   * its default, which adam takes */
  const char *args[] = {"model.layers.0.activation=relu,tanh", "optimizer.beta_1=0.8,0.9"};
  grid_of(&g, args, 2);
  fl_sweep_points p;
  fl_error err = {0};
  assert_int_equal(fl_sweep_expand(SPEC, strlen(SPEC), &g, &p, &err), 0);
  assert_int_equal(p.n, 4);
  assert_non_null(strstr(p.points[3].spec, "\"activation\":\"tanh\""));
  assert_non_null(strstr(p.points[3].spec, "\"beta_1\":0.9"));
  assert_string_equal(p.points[2].label, "model.layers.0.activation=tanh optimizer.beta_1=0.8");
  fl_sweep_points_free(&p);
  fl_sweep_grid_free(&g);
}

static void test_expansion_errors_name_key_and_value(void **s) {
  (void)s;
  /* a key that is not in the spec: the parser's did-you-mean comes along */
  expand_refused((const char *[]){"optimizer.learnig_rate=0.1"}, 1,
                 "optimizer.learnig_rate is not in the spec", FL_EINVAL);
  expand_refused((const char *[]){"optimizer.learnig_rate=0.1"}, 1, "learning_rate", 0);
  expand_refused((const char *[]){"epoch=3"}, 1, "epoch is not in the spec", 0);
  /* a value of the wrong type names the value */
  expand_refused((const char *[]){"batch_size=16,abc"}, 1, "--sweep batch_size=abc", 0);
  expand_refused((const char *[]){"batch_size=16,abc"}, 1, "expected an integer", 0);
  expand_refused((const char *[]){"optimizer.learning_rate=0.1,-1"}, 1,
                 "--sweep optimizer.learning_rate=-1", 0);
  expand_refused((const char *[]){"model.layers.0.activation=relu,nope"}, 1,
                 "activation=nope", 0);
  /* paths that do not fit the spec's shape */
  expand_refused((const char *[]){"model.layers.2.units=4"}, 1,
                 "model.layers has 2 elements (0 to 1)", 0);
  expand_refused((const char *[]){"model.layers.first.units=4"}, 1,
                 "model.layers is an array", 0);
  expand_refused((const char *[]){"loss.from_logits=true"}, 1,
                 "loss is a string in the spec", 0);
  /* the data set is shared */
  expand_refused((const char *[]){"data.train.csv=other.csv"}, 1,
                 "changes the data files", 0);
  /* over the cap, before anything is built */
  expand_refused((const char *[]){"epochs=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17",
                                  "batch_size=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17"},
                 2, "more than 256 jobs (17 x 17)", FL_ETOOBIG);
}

static void test_grid_cap_is_exact(void **s) {
  (void)s;
  /* 16 x 16 = 256 is allowed; one more value is not */
  char a[1024] = "epochs=", b[1024] = "seed=";
  for (int i = 1; i <= 16; i++) {
    snprintf(a + strlen(a), sizeof a - strlen(a), "%s%d", i > 1 ? "," : "", i);
    snprintf(b + strlen(b), sizeof b - strlen(b), "%s%d", i > 1 ? "," : "", i);
  }
  fl_sweep_grid g;
  grid_of(&g, (const char *[]){a, b}, 2);
  assert_int_equal(fl_sweep_count(&g), 256);
  fl_sweep_points p;
  fl_error err = {0};
  assert_int_equal(fl_sweep_expand(SPEC, strlen(SPEC), &g, &p, &err), 0);
  assert_int_equal(p.n, 256);
  fl_sweep_points_free(&p);
  fl_sweep_grid_free(&g);
  strcat(b, ",17");
  grid_of(&g, (const char *[]){a, b}, 2);
  assert_int_equal(fl_sweep_count(&g), FL_SWEEP_MAX_JOBS + 1);
  assert_int_equal(fl_sweep_expand(SPEC, strlen(SPEC), &g, &p, &err), FL_ETOOBIG);
  fl_sweep_grid_free(&g);
  /* no --sweep at all */
  memset(&g, 0, sizeof g);
  assert_int_equal(fl_sweep_expand(SPEC, strlen(SPEC), &g, &p, &err), FL_EINVAL);
}

/* ---- one value at a key path ------------------------------------------- */

static void test_set_path(void **s) {
  (void)s;
  char *out = NULL;
  bool existed = false;
  fl_error err = {0};
  const char doc[] = "{\"a\":{\"b\":[1,{\"c\":2}]},\"d\":\"x\"}";
  assert_int_equal(fl_json_set_path(doc, strlen(doc), "a.b.1.c", "5", &out, &existed, &err), 0);
  assert_true(existed);
  assert_string_equal(out, "{\"a\":{\"b\":[1,{\"c\":5}]},\"d\":\"x\"}");
  free(out);
  assert_int_equal(fl_json_set_path(doc, strlen(doc), "a.b.0", "\"y\"", &out, &existed, &err), 0);
  assert_string_equal(out, "{\"a\":{\"b\":[\"y\",{\"c\":2}]},\"d\":\"x\"}");
  free(out);
  /* missing keys are made, on the way down too */
  assert_int_equal(fl_json_set_path(doc, strlen(doc), "e.f", "true", &out, &existed, &err), 0);
  assert_false(existed);
  assert_string_equal(out, "{\"a\":{\"b\":[1,{\"c\":2}]},\"d\":\"x\",\"e\":{\"f\":true}}");
  free(out);
  const char *bad[][2] = {{"a.b.2", "has 2 elements"}, {"a.b.x", "is an array"},
                          {"d.e", "is a string"},      {"a..b", "empty path segment"},
                          {"", "empty path segment"},  {"a.b.1.c.d", "is a number"}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int rc = fl_json_set_path(doc, strlen(doc), bad[i][0], "1", &out, &existed, &err);
    assert_int_equal(rc, FL_EINVAL);
    assert_null(out);
    if (!strstr(err.msg, bad[i][1])) fail_msg("%s: '%s' lacks '%s'", bad[i][0], err.msg, bad[i][1]);
  }
  assert_int_equal(fl_json_set_path("[1]", 3, "0", "1", &out, &existed, &err), FL_EINVAL);
  assert_int_equal(fl_json_set_path(doc, strlen(doc), "a", "{", &out, &existed, &err), FL_EPARSE);
}

/* ---- the request fields, hostile values included ----------------------- */

static int parse_req(const char *text, fl_request *r, fl_error *err) {
  /* an exactly sized copy without a NUL: a read past the end shows in ASan */
  size_t n = strlen(text);
  uint8_t *copy = malloc(n);
  assert_non_null(copy);
  memcpy(copy, text, n);
  int rc = fl_request_parse(copy, n, r, err);
  free(copy);
  return rc;
}

#define SUBMIT_HEAD "{\"type\":\"submit\",\"id\":4,\"spec\":\"{}\",\"files\":{}"

static void test_request_fields(void **s) {
  (void)s;
  fl_request r;
  fl_error err = {0};
  assert_int_equal(parse_req(SUBMIT_HEAD ",\"group\":\"new\",\"sweep\":{\"optimizer.learning_rate\":0.1,"
                             "\"model.layers.0.activation\":\"relu\",\"x\":true,\"y\":null}}",
                             &r, &err), 0);
  assert_string_equal(r.group, "new");
  assert_string_equal(r.sweep, "{\"optimizer.learning_rate\":0.1,\"model.layers.0.activation\":"
                               "\"relu\",\"x\":true,\"y\":null}");
  fl_request_free(&r);
  assert_null(r.sweep);
  assert_int_equal(parse_req(SUBMIT_HEAD ",\"group\":\"g17\"}", &r, &err), 0);
  assert_string_equal(r.group, "g17");
  assert_null(r.sweep);
  fl_request_free(&r);
  assert_int_equal(parse_req(SUBMIT_HEAD ",\"group\":null,\"sweep\":null}", &r, &err), 0);
  assert_string_equal(r.group, "");
  fl_request_free(&r);
  assert_int_equal(parse_req("{\"type\":\"list\",\"id\":2,\"group\":\"g3\"}", &r, &err), 0);
  assert_string_equal(r.group, "g3");
  fl_request_free(&r);
  assert_int_equal(parse_req("{\"type\":\"group\",\"id\":2,\"group\":\"g999999999\"}", &r, &err), 0);
  assert_int_equal(r.type, FL_REQ_GROUP);
  assert_string_equal(fl_request_type_name(r.type), "group");
  fl_request_free(&r);
}

static void test_request_hostile_fields(void **s) {
  (void)s;
  char long_key[200], long_value[200], many[1024];
  memset(long_key, 'k', 64);
  long_key[64] = '\0';
  memset(long_value, 'v', 64);
  long_value[64] = '\0';
  snprintf(many, sizeof many, "%s", SUBMIT_HEAD ",\"group\":\"new\",\"sweep\":{");
  for (int i = 0; i < 9; i++)
    snprintf(many + strlen(many), sizeof many - strlen(many), "%s\"k%d\":1", i ? "," : "", i);
  strcat(many, "}}");
  char lk[512], lv[512];
  snprintf(lk, sizeof lk, SUBMIT_HEAD ",\"group\":\"new\",\"sweep\":{\"%s\":1}}", long_key);
  snprintf(lv, sizeof lv, SUBMIT_HEAD ",\"group\":\"new\",\"sweep\":{\"k\":\"%s\"}}", long_value);
  const struct {
    const char *text, *want;
    int code;
  } bad[] = {
      {SUBMIT_HEAD ",\"group\":\"g\"}", "group", FL_EINVAL},
      {SUBMIT_HEAD ",\"group\":\"g0123456789\"}", "group", FL_EINVAL},
      {SUBMIT_HEAD ",\"group\":\"j17\"}", "group", FL_EINVAL},
      {SUBMIT_HEAD ",\"group\":\"g1x\"}", "group", FL_EINVAL},
      {SUBMIT_HEAD ",\"group\":17}", "group", FL_EINVAL},
      {SUBMIT_HEAD ",\"group\":[\"g1\"]}", "group", FL_EINVAL},
      {SUBMIT_HEAD ",\"sweep\":{\"k\":1}}", "belongs to a group", FL_EINVAL},
      {SUBMIT_HEAD ",\"group\":\"new\",\"sweep\":{}}", "sweep", FL_EINVAL},
      {SUBMIT_HEAD ",\"group\":\"new\",\"sweep\":[1]}", "sweep", FL_EINVAL},
      {SUBMIT_HEAD ",\"group\":\"new\",\"sweep\":\"k=1\"}", "sweep", FL_EINVAL},
      {SUBMIT_HEAD ",\"group\":\"new\",\"sweep\":{\"k\":[1]}}", "sweep.k", FL_EINVAL},
      {SUBMIT_HEAD ",\"group\":\"new\",\"sweep\":{\"k\":{\"a\":1}}}", "sweep.k", FL_EINVAL},
      {SUBMIT_HEAD ",\"group\":\"new\",\"sweep\":{\"k\":\"a\\u0001b\"}}", "control", FL_EINVAL},
      {SUBMIT_HEAD ",\"group\":\"new\",\"sweep\":{\"a b\":1}}", "key path", FL_EINVAL},
      {SUBMIT_HEAD ",\"group\":\"new\",\"sweep\":{\"a..b\":1}}", "key path", FL_EINVAL},
      {SUBMIT_HEAD ",\"group\":\"new\",\"sweep\":{\"\":1}}", "key path", FL_EINVAL},
      {SUBMIT_HEAD ",\"group\":\"new\",\"sweep\":{\"k\":1,\"k\":2}}", "duplicate", FL_EINVAL},
      {lk, "key path", FL_EINVAL},
      {lv, "at most 63 bytes", FL_EINVAL},
      {many, "at most 8 keys", FL_ETOOBIG},
      {"{\"type\":\"list\",\"id\":2,\"group\":\"new\"}", "group", FL_EINVAL},
      {"{\"type\":\"list\",\"id\":2,\"group\":5}", "group", FL_EINVAL},
      {"{\"type\":\"group\",\"id\":2}", "group", FL_EINVAL},
      {"{\"type\":\"group\",\"id\":2,\"group\":null}", "group", FL_EINVAL},
      {"{\"type\":\"group\",\"id\":2,\"group\":\"new\"}", "group", FL_EINVAL},
      {"{\"type\":\"group\",\"id\":2,\"group\":\"g1\",\"job\":\"j1\"}", "job", FL_EINVAL},
      {"{\"type\":\"group\",\"id\":2,\"group\":\"g1\",\"sweep\":{}}", "sweep", FL_EINVAL},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    fl_request r;
    fl_error err = {0};
    int rc = parse_req(bad[i].text, &r, &err);
    if (rc != bad[i].code)
      fail_msg("%s: expected code %d, got %d (%s)", bad[i].text, bad[i].code, rc, err.msg);
    if (!strstr(err.msg, bad[i].want))
      fail_msg("%s: '%s' lacks '%s'", bad[i].text, err.msg, bad[i].want);
    assert_int_equal(r.id, strstr(bad[i].text, "\"id\":4") ? 4 : 2); /* echoed */
    assert_null(r.sweep);
    fl_request_free(&r);
  }
}

/* ---- best first -------------------------------------------------------- */

static void order_of(const char *jobs_json, const char *want) {
  fl_json *jobs = fl_json_parse(jobs_json, strlen(jobs_json), NULL);
  assert_non_null(jobs);
  size_t n = fl_json_array_size(jobs), order[16];
  assert_true(n <= 16);
  fl_cli_group_order(jobs, order, n);
  char got[128] = "";
  for (size_t i = 0; i < n; i++) {
    const char *id = fl_json_string(fl_json_get(fl_json_array_at(jobs, order[i]), "job"));
    snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? " " : "", id);
  }
  assert_string_equal(got, want);
  fl_json_free(jobs);
}

static void test_best_first(void **s) {
  (void)s;
  /* by val_accuracy when any job has it; without one: last; ties by number */
  order_of("[{\"job\":\"j1\",\"accuracy\":0.99,\"val_accuracy\":0.5},"
           "{\"job\":\"j2\",\"accuracy\":0.6,\"val_accuracy\":0.9},"
           "{\"job\":\"j3\",\"accuracy\":1.0,\"val_accuracy\":null},"
           "{\"job\":\"j10\",\"accuracy\":0.7,\"val_accuracy\":0.9},"
           "{\"job\":\"j4\",\"accuracy\":0.7,\"val_accuracy\":0.7}]",
           "j2 j10 j4 j1 j3");
  /* no validation data anywhere: training accuracy */
  order_of("[{\"job\":\"j1\",\"accuracy\":0.5},{\"job\":\"j2\",\"accuracy\":0.8},"
           "{\"job\":\"j3\"},{\"job\":\"j4\",\"accuracy\":0.8}]",
           "j2 j4 j1 j3");
  order_of("[]", "");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_values_are_json_scalars_else_strings),
      cmocka_unit_test(test_argument_errors_name_the_fix),
      cmocka_unit_test(test_three_by_two_grid),
      cmocka_unit_test(test_string_values_and_default_keys),
      cmocka_unit_test(test_expansion_errors_name_key_and_value),
      cmocka_unit_test(test_grid_cap_is_exact),
      cmocka_unit_test(test_set_path),
      cmocka_unit_test(test_request_fields),
      cmocka_unit_test(test_request_hostile_fields),
      cmocka_unit_test(test_best_first),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
