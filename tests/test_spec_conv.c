/* tests/test_spec_conv.c — the spec's convolutional layers (issue 13):
 * conv2d with Keras' defaults, the pooling entries folded into it,
 * flatten, input_shape on the first layer, the shapes through the model,
 * and every refusal with its key path and the fix it names. Specs are
 * written with single quotes, swapped to double before parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flatline/protocol.h"

#define HEAD "{'data':{'train':{'features':'X.npy','labels':'y.npy'}}," \
             "'loss':'sparse_categorical_crossentropy','model':{'layers':["
#define TAIL "]}}"
#define OUT "{'type':'dense','units':10,'activation':'softmax'}"
#define CONV "{'type':'conv2d','filters':8,'kernel_size':3,'activation':'relu'}"

static int parse(const char *quoted, fl_job_spec *spec, fl_error *err) {
  char *json = strdup(quoted);
  for (char *p = json; *p; p++)
    if (*p == '\'') *p = '"';
  memset(err, 0, sizeof *err);
  int rc = fl_spec_parse(json, strlen(json), spec, err);
  free(json);
  return rc;
}

static void test_keras_cnn(void **state) {
  (void)state;
  fl_job_spec s;
  fl_error err;
  int rc = parse(HEAD
                 "{'type':'conv2d','filters':32,'kernel_size':3,'activation':"
                 "'relu','input_shape':[28,28,1]},"
                 "{'type':'max_pooling2d'},"
                 "{'type':'conv2d','filters':64,'kernel_size':[3,3],"
                 "'activation':'relu'},"
                 "{'type':'max_pooling2d','pool_size':2},"
                 "{'type':'flatten'},"
                 "{'type':'dense','units':128,'activation':'relu'},"
                 OUT TAIL, &s, &err);
  if (rc) fail_msg("%s", err.msg);
  assert_int_equal(s.n_layers, 4);
  const fl_layer_spec *c = &s.layers[0];
  assert_int_equal(c->kind, FL_LAYER_CONV2D);
  assert_int_equal(c->units, 32);
  assert_int_equal(c->kernel_size[0], 3);
  assert_int_equal(c->kernel_size[1], 3);
  assert_int_equal(c->strides[0], 1); /* Keras defaults */
  assert_false(c->padding_same);
  assert_int_equal(c->pool, FL_POOL_MAX);
  assert_int_equal(c->pool_size[0], 2);
  assert_int_equal(c->pool_strides[1], 2); /* strides = pool_size */
  assert_int_equal(c->kernel_init.kind, FL_INIT_GLOROT_UNIFORM);
  assert_int_equal(c->input_shape[0], 28);
  assert_int_equal(c->input_shape[2], 1);
  assert_true(s.layers[2].flatten);
  assert_false(s.layers[3].flatten);
  fl_layer_shape g[4];
  bool known;
  assert_int_equal(fl_model_shapes(s.layers, 4, 0, g, &known, &err), 0);
  assert_true(known);
  /* 28 -> 26 -> 13 -> 11 -> 5: Keras' summary of this model */
  assert_int_equal(g[0].oh, 26);
  assert_int_equal(g[0].ph, 13);
  assert_int_equal(g[1].oh, 11);
  assert_int_equal(g[1].ph, 5);
  assert_int_equal(g[2].flat_in, 5 * 5 * 64);
  /* the same rows without input_shape: a square single-channel image */
  assert_int_equal(fl_model_shapes(s.layers, 4, 784, g, &known, &err), 0);
  assert_int_equal(fl_model_shapes(s.layers, 4, 785, g, &known, &err), FL_ESPEC);
  assert_non_null(strstr(err.msg, "785"));
  assert_non_null(strstr(err.msg, "784"));
  fl_spec_free(&s);
}

static void test_strides_padding_and_pools(void **state) {
  (void)state;
  fl_job_spec s;
  fl_error err;
  int rc = parse(HEAD
                 "{'type':'conv2d','filters':4,'kernel_size':[3,5],"
                 "'strides':[2,1],'padding':'same','input_shape':[9,7,3]},"
                 "{'type':'average_pooling2d','pool_size':[3,2],'strides':1,"
                 "'padding':'same'},{'type':'dropout','rate':0.25},"
                 "{'type':'conv2d','filters':6,'kernel_size':1},"
                 "{'type':'global_average_pooling2d'}," OUT TAIL,
                 &s, &err);
  if (rc) fail_msg("%s", err.msg);
  assert_int_equal(s.n_layers, 3);
  assert_true(s.layers[0].padding_same);
  assert_int_equal(s.layers[0].strides[0], 2);
  assert_int_equal(s.layers[0].kernel_size[1], 5);
  assert_int_equal(s.layers[0].pool, FL_POOL_AVG);
  assert_int_equal(s.layers[0].pool_strides[0], 1);
  assert_true(s.layers[0].dropout == 0.25f);
  assert_int_equal(s.layers[1].pool, FL_POOL_GLOBAL_AVG);
  fl_layer_shape g[3];
  bool known;
  assert_int_equal(fl_model_shapes(s.layers, 3, 0, g, &known, &err), 0);
  /* TF "same": ceil(9 / 2) = 5 rows, padding 2 split 1 / 1 */
  assert_int_equal(g[0].oh, 5);
  assert_int_equal(g[0].ow, 7);
  assert_int_equal(g[0].pad_top, 1);
  assert_int_equal(g[0].pad_left, 2);
  assert_int_equal(g[2].flat_in, 6);
  fl_spec_free(&s);
}

static void test_refusals(void **state) {
  (void)state;
  static const struct {
    const char *json, *path, *phrase;
  } cases[] = {
      {HEAD CONV ",{'type':'dense','units':10}" TAIL, "model.layers[1]",
       "add {\"type\": \"flatten\"}"},
      {HEAD CONV ",{'type':'flatten'}," CONV "," OUT TAIL, "model.layers[2]",
       "move conv2d layers before the flatten"},
      {HEAD "{'type':'dense','units':4}," CONV ",{'type':'flatten'}," OUT TAIL,
       "model.layers[1]", "the tensor is flat there"},
      {HEAD CONV TAIL, "model.layers[0]", "the output layer must be dense"},
      {HEAD "{'type':'max_pooling2d'}," CONV ",{'type':'flatten'}," OUT TAIL,
       "model.layers[0]", "must follow a conv2d"},
      {HEAD CONV ",{'type':'max_pooling2d'},{'type':'max_pooling2d'},"
       "{'type':'flatten'}," OUT TAIL, "model.layers[2]", "a second pooling"},
      {HEAD CONV ",{'type':'dropout','rate':0.1},{'type':'max_pooling2d'},"
       "{'type':'flatten'}," OUT TAIL, "model.layers[2]",
       "put it before the dropout"},
      {HEAD CONV ",{'type':'batch_normalization'},{'type':'flatten'}," OUT TAIL,
       "model.layers[1]", "not supported yet"},
      {HEAD "{'type':'conv2d','filters':8}," "{'type':'flatten'}," OUT TAIL,
       "model.layers[0].kernel_size", "required key is missing"},
      {HEAD "{'type':'conv2d','filters':8,'kernel_size':[3,3,3]},"
       "{'type':'flatten'}," OUT TAIL, "model.layers[0].kernel_size",
       "a pair of integers"},
      {HEAD "{'type':'conv2d','filters':8,'kernel_size':3,'padding':'full'},"
       "{'type':'flatten'}," OUT TAIL, "model.layers[0].padding",
       "\"valid\""},
      {HEAD "{'type':'conv2d','filters':8,'kernel_size':3,'units':8},"
       "{'type':'flatten'}," OUT TAIL, "model.layers[0].units",
       "unknown key"},
      {HEAD CONV ",{'type':'flatten'},{'type':'dense','units':10,"
       "'input_shape':[28,28,1]}" TAIL, "model.layers[2].input_shape",
       "belongs on the first layer"},
      {"{'data':{'train':{'features':'X.npy','labels':'y.npy'}},"
       "'loss':'sparse_categorical_crossentropy','model':{'input_shape':"
       "[28,28,1],'layers':[" OUT "]}}", "model.input_shape",
       "goes on the first layer"},
      {HEAD "{'type':'conv2d','filters':8,'kernel_size':3,'input_shape':"
       "[28,28]},{'type':'flatten'}," OUT TAIL, "model.layers[0].input_shape",
       "[H, W, C]"},
      {HEAD "{'type':'conv2d','filters':8,'kernel_size':5,'input_shape':"
       "[4,4,1]},{'type':'flatten'}," OUT TAIL, "model",
       "use \"padding\": \"same\""},
      {HEAD "{'type':'conv2d','filters':8,'kernel_size':3,'input_shape':"
       "[5,5,1]},{'type':'max_pooling2d','pool_size':4},{'type':'flatten'},"
       OUT TAIL, "model", "does not fit its 3x3 output"},
      {HEAD CONV ",{'type':'max_pooling2d'},{'type':'activation',"
       "'activation':'relu'},{'type':'flatten'}," OUT TAIL, "model.layers[2]",
       "after a pooling entry"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    fl_job_spec s;
    fl_error err;
    int rc = parse(cases[i].json, &s, &err);
    size_t n = strlen(cases[i].path);
    if (rc != FL_ESPEC || strncmp(err.msg, cases[i].path, n) != 0 ||
        err.msg[n] != ':' || !strstr(err.msg, cases[i].phrase))
      fail_msg("case %zu: want %s: ...%s...\n  got %d %s", i, cases[i].path,
               cases[i].phrase, rc, err.msg);
    fl_spec_free(&s);
  }
}

/* Without input_shape a conv model reads rows as the image its data
 * file's header gives (a .npy (N, H, W, C)); the spec's own input_shape
 * wins over a header of the same width (Keras reshapes), and another
 * width is still fl_model_shapes' error; data without a header shape
 * keeps the square default. */
static void test_input_shape_from_data(void **state) {
  (void)state;
  fl_job_spec s;
  fl_error err;
  const size_t colour[3] = {6, 5, 2}, none[3] = {0, 0, 0};
  fl_layer_shape g[2];
  bool known;
  int rc = parse(HEAD CONV ",{'type':'flatten'}," OUT TAIL, &s, &err);
  if (rc) fail_msg("%s", err.msg);
  /* 60 features are no square image: refused without the header */
  assert_int_equal(fl_model_shapes(s.layers, 2, 60, g, &known, &err), FL_ESPEC);
  assert_non_null(strstr(err.msg, "(N, H, W, C)"));
  assert_int_equal(fl_model_input_from_data(s.layers, 2, none, "X.npy", &err), 0);
  assert_int_equal(s.layers[0].input_shape[0], 0);
  assert_int_equal(fl_model_input_from_data(s.layers, 2, colour, "X.npy", &err), 0);
  assert_int_equal(s.layers[0].input_shape[0], 6);
  assert_int_equal(s.layers[0].input_shape[1], 5);
  assert_int_equal(s.layers[0].input_shape[2], 2);
  assert_int_equal(fl_model_shapes(s.layers, 2, 60, g, &known, &err), 0);
  assert_true(known);
  assert_int_equal(g[0].c, 2);
  assert_int_equal(g[0].oh, 4); /* 3x3 "valid" on 6x5 */
  assert_int_equal(g[0].ow, 3);
  assert_int_equal(g[1].flat_in, 4 * 3 * 8);
  fl_spec_free(&s);

  /* the spec's [5, 6, 2] stays; [7, 7, 1] on rows of 60 is refused */
  rc = parse(HEAD "{'type':'conv2d','filters':8,'kernel_size':3,"
             "'input_shape':[5,6,2]},{'type':'flatten'}," OUT TAIL, &s, &err);
  if (rc) fail_msg("%s", err.msg);
  assert_int_equal(fl_model_input_from_data(s.layers, 2, colour, "X.npy", &err), 0);
  assert_int_equal(s.layers[0].input_shape[0], 5);
  assert_int_equal(s.layers[0].input_shape[1], 6);
  s.layers[0].input_shape[0] = s.layers[0].input_shape[1] = 7;
  s.layers[0].input_shape[2] = 1;
  assert_int_equal(fl_model_input_from_data(s.layers, 2, colour, "X.npy", &err), 0);
  assert_int_equal(fl_model_shapes(s.layers, 2, 60, g, &known, &err), FL_ESPEC);
  assert_non_null(strstr(err.msg, "holds 49 values"));
  fl_spec_free(&s);

  /* a dense model takes no image */
  rc = parse(HEAD OUT TAIL, &s, &err);
  if (rc) fail_msg("%s", err.msg);
  assert_int_equal(fl_model_input_from_data(s.layers, 1, colour, "X.npy", &err), 0);
  assert_int_equal(s.layers[0].input_shape[0], 0);
  fl_spec_free(&s);

  /* images past input_shape's limits: named, with the limit */
  rc = parse(HEAD CONV ",{'type':'flatten'}," OUT TAIL, &s, &err);
  if (rc) fail_msg("%s", err.msg);
  const size_t huge[3] = {5000, 2, 1};
  assert_int_equal(fl_model_input_from_data(s.layers, 2, huge, "X.npy", &err),
                   FL_ESPEC);
  assert_non_null(strstr(err.msg, "X.npy: its rows are 5000x2x1 images"));
  assert_non_null(strstr(err.msg, "1 to 4096"));
  assert_int_equal(s.layers[0].input_shape[0], 0);
  fl_spec_free(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_keras_cnn),
      cmocka_unit_test(test_strides_padding_and_pools),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_input_shape_from_data),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
