/* tests/test_spec.c — cmocka tests of the job-spec parser (protocol/spec*.c,
 * protocol/json_*.c): the DESIGN.md §3 example, defaults, every data source
 * form, the string and object forms of loss / optimizer / initializers, a
 * corpus of wrong specs (return code, key path and phrase of each message),
 * the byte and depth caps, and a seeded mutation fuzz that must never crash
 * (it runs under ASan/UBSan in CI).
 *
 * Specs are written with ' instead of " so that they read like JSON; parse()
 * swaps them back and hands the parser an exactly sized heap copy without a
 * NUL terminator, so any read past the end shows up under ASan. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flatline/protocol.h"

/* ---- helpers ----------------------------------------------------------- */

static int parse_bytes(const char *bytes, size_t len, bool swap_quotes,
                       fl_job_spec *spec, fl_error *err) {
  char *json = malloc(len ? len : 1);
  assert_non_null(json);
  for (size_t i = 0; i < len; i++) {
    json[i] = (swap_quotes && bytes[i] == '\'') ? '"' : bytes[i];
  }
  memset(err, 0, sizeof *err);
  int rc = fl_spec_parse(json, len, spec, err);
  free(json);
  return rc;
}

static int parse(const char *quoted, fl_job_spec *spec, fl_error *err) {
  return parse_bytes(quoted, strlen(quoted), true, spec, err);
}

/* Parse a spec that must be valid; fails the test with the message if not. */
static void parse_ok(const char *quoted, fl_job_spec *spec) {
  fl_error err;
  int rc = parse(quoted, spec, &err);
  if (rc != 0) fail_msg("expected a valid spec, got %d: %s", rc, err.msg);
}

/* Parse a spec that must fail with code; returns the message. */
static const char *parse_fails(const char *quoted, int code, fl_error *err) {
  fl_job_spec spec;
  int rc = parse(quoted, &spec, err);
  if (rc != code) {
    fail_msg("expected %d for %s, got %d: %s", code, quoted, rc, err->msg);
  }
  assert_int_equal(err->code, code);
  fl_spec_free(&spec);
  return err->msg;
}

static bool floats_equal(float a, float b) { return a == b; }

/* ---- shared pieces of specs -------------------------------------------- */

#define TRAIN_NPY "'train':{'features':'X.npy','labels':'y.npy'}"
#define DATA "'data':{" TRAIN_NPY "}"
#define OUT_LAYER "{'type':'dense','units':10,'activation':'softmax'}"
#define MODEL "'model':{'layers':[" OUT_LAYER "]}"
#define LOSS "'loss':'sparse_categorical_crossentropy'"
#define BASE DATA "," MODEL "," LOSS
/* A valid spec plus some top-level keys. */
#define SPEC(extra) "{" BASE "," extra "}"
#define WITH_DATA(data) "{'data':{" data "}," MODEL "," LOSS "}"
#define WITH_TRAIN(src) WITH_DATA("'train':" src)
#define WITH_LAYERS(layers) \
  "{" DATA ",'model':{'layers':[" layers "]}," LOSS "}"
#define WITH_KERNEL_INIT(init) \
  WITH_LAYERS("{'type':'dense','units':10,'kernel_initializer':" init "}")
#define WITH_LOSS(loss) "{" DATA "," MODEL ",'loss':" loss "}"

/* DESIGN.md §3; the verbatim form adds its validation_split line. */
#define DESIGN_HEAD                                          \
  "{\n"                                                      \
  "  'name': 'digits-mlp',\n"                                \
  "  'data': {\n"                                            \
  "    'train': {'features': 'X.npy', 'labels': 'y.npy'},\n" \
  "    'validation': {'features': 'Xv.npy', 'labels': 'yv.npy'}"
#define DESIGN_TAIL                                                 \
  "\n  },\n"                                                        \
  "  'model': {'layers': [\n"                                       \
  "    {'type': 'dense', 'units': 64, 'activation': 'relu',\n"      \
  "     'kernel_initializer': 'he_normal', 'bias_initializer': "    \
  "'zeros'},\n"                                                     \
  "    {'type': 'dense', 'units': 10, 'activation': 'softmax'}\n"   \
  "  ]},\n"                                                         \
  "  'loss': 'sparse_categorical_crossentropy',\n"                  \
  "  'optimizer': {'name': 'adam', 'learning_rate': 0.001},\n"      \
  "  'epochs': 20,\n"                                               \
  "  'batch_size': 32,\n"                                           \
  "  'seed': 7,\n"                                                  \
  "  'shuffle': true,\n"                                            \
  "  'device': 'auto',\n"                                           \
  "  'monitor': {'patience': 3, 'min_delta': 0.001, 'on_plateau': " \
  "'alert'}\n"                                                      \
  "}\n"

static const char design_example[] = DESIGN_HEAD DESIGN_TAIL;
static const char design_example_verbatim[] =
    DESIGN_HEAD ",\n    'validation_split': 0.2" DESIGN_TAIL;

/* Every optional part in a non-default form, for the fuzz and the
 * free-on-error test: csv labels are the allocation the parser owns. */
static const char kitchen_sink[] =
    "{'name':'sink','data':{'train':{'csv':'t.csv','label_columns':"
    "['a','b',2],'scale':0.5},'validation':{'idx_images':'v.idx.gz',"
    "'idx_labels':'vl.idx'}},'model':{'layers':[{'type':'dense','units':8,"
    "'activation':'tanh','kernel_initializer':{'name':'random_normal',"
    "'stddev':0.1},'bias_initializer':{'name':'constant','value':0.5}},"
    "{'type':'dense','units':3,'activation':'sigmoid'}]},'loss':{'name':"
    "'categorical_crossentropy','from_logits':true},'optimizer':{'name':"
    "'sgd','learning_rate':0.1,'momentum':0.9,'nesterov':true},'epochs':5,"
    "'batch_size':64,'seed':9007199254740991,'shuffle':false,'device':1,"
    "'monitor':{'patience':5,'min_delta':0,'on_plateau':'reduce_lr'}}";

/* ---- valid specs ------------------------------------------------------- */

static void design_example_parses(void **state) {
  (void)state;
  fl_job_spec s;
  parse_ok(design_example, &s);
  assert_string_equal(s.name, "digits-mlp");

  assert_int_equal(s.train.kind, FL_SRC_NPY);
  assert_string_equal(s.train.features, "X.npy");
  assert_string_equal(s.train.labels, "y.npy");
  assert_false(s.train.has_scale);
  assert_true(floats_equal(s.train.scale, 1.0f));
  assert_int_equal(s.validation.kind, FL_SRC_NPY);
  assert_string_equal(s.validation.features, "Xv.npy");
  assert_string_equal(s.validation.labels, "yv.npy");
  assert_true(floats_equal(s.validation_split, 0.0f));

  assert_int_equal(s.n_layers, 2);
  assert_int_equal(s.layers[0].units, 64);
  assert_int_equal(s.layers[0].activation, FL_ACT_RELU);
  assert_int_equal(s.layers[0].kernel_init.kind, FL_INIT_HE_NORMAL);
  assert_int_equal(s.layers[0].bias_init.kind, FL_INIT_ZEROS);
  assert_int_equal(s.layers[1].units, 10);
  assert_int_equal(s.layers[1].activation, FL_ACT_SOFTMAX);
  assert_int_equal(s.layers[1].kernel_init.kind, FL_INIT_GLOROT_UNIFORM);
  assert_int_equal(s.layers[1].bias_init.kind, FL_INIT_ZEROS);

  assert_int_equal(s.loss.kind, FL_LOSS_SPARSE_CATEGORICAL_CE);
  assert_false(s.loss.from_logits);
  assert_int_equal(s.optimizer.kind, FL_OPT_ADAM);
  assert_true(floats_equal(s.optimizer.learning_rate, 0.001f));
  assert_true(floats_equal(s.optimizer.beta_1, 0.9f));
  assert_true(floats_equal(s.optimizer.beta_2, 0.999f));
  assert_true(floats_equal(s.optimizer.epsilon, 1e-7f));
  assert_int_equal(s.epochs, 20);
  assert_int_equal(s.batch_size, 32);
  assert_int_equal(s.seed, 7);
  assert_true(s.shuffle);
  assert_string_equal(s.device, "auto");
  assert_int_equal(s.monitor.patience, 3);
  assert_true(floats_equal(s.monitor.min_delta, 0.001f));
  assert_int_equal(s.monitor.on_plateau, FL_PLATEAU_ALERT);
  fl_spec_free(&s);
}

/* DESIGN.md's example gives both validation and validation_split 0.2;
 * it must parse as written (users copy it); the explicit validation set
 * wins, as in Keras, and the split is kept only as read. */
static void design_example_verbatim_parses(void **state) {
  (void)state;
  fl_job_spec s;
  parse_ok(design_example_verbatim, &s);
  assert_int_equal(s.validation.kind, FL_SRC_NPY);
  assert_true(floats_equal(s.validation_split, 0.2f));
  fl_spec_free(&s);
}

static void defaults_are_applied(void **state) {
  (void)state;
  fl_job_spec s, d;
  parse_ok("{" DATA
           ",'model':{'layers':[{'type':'dense','units':3}]},"
           "'loss':'mean_squared_error'}",
           &s);
  fl_spec_defaults(&d);
  assert_string_equal(s.name, "job");
  assert_string_equal(d.name, "job");
  assert_int_equal(s.validation.kind, FL_SRC_NONE);
  assert_true(floats_equal(s.validation_split, 0.0f));
  assert_int_equal(s.n_layers, 1);
  assert_int_equal(s.layers[0].activation, FL_ACT_LINEAR);
  assert_int_equal(s.layers[0].kernel_init.kind, FL_INIT_GLOROT_UNIFORM);
  assert_int_equal(s.layers[0].bias_init.kind, FL_INIT_ZEROS);
  assert_int_equal(s.loss.kind, FL_LOSS_MSE);
  assert_int_equal(s.optimizer.kind, FL_OPT_ADAM);
  assert_true(floats_equal(s.optimizer.learning_rate, 0.001f));
  assert_true(floats_equal(s.optimizer.beta_1, 0.9f));
  assert_true(floats_equal(s.optimizer.beta_2, 0.999f));
  assert_true(floats_equal(s.optimizer.epsilon, 1e-7f));
  assert_true(floats_equal(s.optimizer.momentum, 0.0f));
  assert_int_equal(s.epochs, 1);
  assert_int_equal(s.batch_size, 32);
  assert_int_equal(s.seed, 0);
  assert_true(s.shuffle);
  assert_string_equal(s.device, "auto");
  assert_int_equal(s.monitor.patience, 3);
  assert_true(floats_equal(s.monitor.min_delta, 0.001f));
  assert_int_equal(s.monitor.on_plateau, FL_PLATEAU_ALERT);
  /* what the parser filled by default is what fl_spec_defaults says */
  assert_int_equal(s.epochs, d.epochs);
  assert_int_equal(s.batch_size, d.batch_size);
  assert_int_equal(s.monitor.patience, d.monitor.patience);
  assert_int_equal(d.n_layers, 0);
  assert_int_equal(d.train.kind, FL_SRC_NONE);
  fl_spec_free(&s);
  fl_spec_free(&d);
}

static void kitchen_sink_parses(void **state) {
  (void)state;
  fl_job_spec s;
  parse_ok(kitchen_sink, &s);
  assert_int_equal(s.train.kind, FL_SRC_CSV);
  assert_string_equal(s.train.features, "t.csv");
  assert_string_equal(s.train.labels, "");
  assert_int_equal(s.train.n_label_columns, 3);
  assert_string_equal(s.train.label_columns[0].name, "a");
  assert_int_equal(s.train.label_columns[0].index, -1);
  assert_string_equal(s.train.label_columns[1].name, "b");
  assert_string_equal(s.train.label_columns[2].name, "");
  assert_int_equal(s.train.label_columns[2].index, 2);
  assert_true(s.train.has_scale);
  assert_true(floats_equal(s.train.scale, 0.5f));
  assert_int_equal(s.validation.kind, FL_SRC_IDX);
  assert_string_equal(s.validation.features, "v.idx.gz");
  assert_string_equal(s.validation.labels, "vl.idx");
  assert_int_equal(s.layers[0].activation, FL_ACT_TANH);
  assert_int_equal(s.layers[0].kernel_init.kind, FL_INIT_RANDOM_NORMAL);
  assert_true(floats_equal(s.layers[0].kernel_init.param, 0.1f));
  assert_int_equal(s.layers[0].bias_init.kind, FL_INIT_CONSTANT);
  assert_true(floats_equal(s.layers[0].bias_init.param, 0.5f));
  assert_int_equal(s.layers[1].activation, FL_ACT_SIGMOID);
  assert_int_equal(s.loss.kind, FL_LOSS_CATEGORICAL_CE);
  assert_true(s.loss.from_logits);
  assert_int_equal(s.optimizer.kind, FL_OPT_SGD);
  assert_true(floats_equal(s.optimizer.learning_rate, 0.1f));
  assert_true(floats_equal(s.optimizer.momentum, 0.9f));
  assert_true(s.optimizer.nesterov);
  assert_int_equal(s.epochs, 5);
  assert_int_equal(s.batch_size, 64);
  assert_true(s.seed == UINT64_C(9007199254740991));
  assert_false(s.shuffle);
  assert_string_equal(s.device, "1");
  assert_int_equal(s.monitor.patience, 5);
  assert_true(floats_equal(s.monitor.min_delta, 0.0f));
  assert_int_equal(s.monitor.on_plateau, FL_PLATEAU_REDUCE_LR);
  fl_spec_free(&s);
  /* freeing twice, and freeing NULL, are harmless */
  fl_spec_free(&s);
  fl_spec_free(NULL);
}

static void source_forms(void **state) {
  (void)state;
  fl_job_spec s;
  parse_ok(WITH_TRAIN("{'features':'a/X.npy','labels':'a/y.npy','scale':-1}"),
           &s);
  assert_int_equal(s.train.kind, FL_SRC_NPY);
  assert_string_equal(s.train.features, "a/X.npy");
  assert_string_equal(s.train.labels, "a/y.npy");
  assert_true(s.train.has_scale);
  assert_true(floats_equal(s.train.scale, -1.0f));
  assert_null(s.train.label_columns);
  fl_spec_free(&s);

  parse_ok(WITH_TRAIN("{'csv':'iris.csv','label_columns':['species']}"), &s);
  assert_int_equal(s.train.kind, FL_SRC_CSV);
  assert_string_equal(s.train.features, "iris.csv");
  assert_int_equal(s.train.n_label_columns, 1);
  assert_string_equal(s.train.label_columns[0].name, "species");
  assert_int_equal(s.train.label_columns[0].index, -1);
  assert_false(s.train.has_scale);
  fl_spec_free(&s);

  parse_ok(WITH_TRAIN("{'label_columns':[4,0,7],'csv':'onehot.csv'}"), &s);
  assert_int_equal(s.train.kind, FL_SRC_CSV);
  assert_int_equal(s.train.n_label_columns, 3);
  assert_int_equal(s.train.label_columns[0].index, 4);
  assert_int_equal(s.train.label_columns[1].index, 0);
  assert_int_equal(s.train.label_columns[2].index, 7);
  assert_string_equal(s.train.label_columns[2].name, "");
  fl_spec_free(&s);

  parse_ok(WITH_TRAIN("{'idx_images':'train-images-idx3-ubyte.gz',"
                      "'idx_labels':'train-labels-idx1-ubyte.gz',"
                      "'scale':0.00392156862745098}"),
           &s);
  assert_int_equal(s.train.kind, FL_SRC_IDX);
  assert_string_equal(s.train.features, "train-images-idx3-ubyte.gz");
  assert_string_equal(s.train.labels, "train-labels-idx1-ubyte.gz");
  assert_true(floats_equal(s.train.scale, (float)(1.0 / 255.0)));
  fl_spec_free(&s);

  /* validation_split alone, and validation with an explicit 0 split */
  parse_ok(WITH_DATA(TRAIN_NPY ",'validation_split':0.25"), &s);
  assert_true(floats_equal(s.validation_split, 0.25f));
  assert_int_equal(s.validation.kind, FL_SRC_NONE);
  fl_spec_free(&s);
  parse_ok(WITH_DATA(TRAIN_NPY ",'validation_split':0,'validation':{"
                               "'csv':'v.csv','label_columns':['y']}"),
           &s);
  assert_int_equal(s.validation.kind, FL_SRC_CSV);
  assert_int_equal(s.validation.n_label_columns, 1);
  fl_spec_free(&s);
}

static void loss_forms(void **state) {
  (void)state;
  static const struct {
    const char *loss;
    fl_loss_kind kind;
    bool from_logits;
  } cases[] = {
      {"'categorical_crossentropy'", FL_LOSS_CATEGORICAL_CE, false},
      {"'sparse_categorical_crossentropy'", FL_LOSS_SPARSE_CATEGORICAL_CE,
       false},
      {"'mean_squared_error'", FL_LOSS_MSE, false},
      {"{'name':'sparse_categorical_crossentropy','from_logits':true}",
       FL_LOSS_SPARSE_CATEGORICAL_CE, true},
      {"{'name':'categorical_crossentropy','from_logits':false}",
       FL_LOSS_CATEGORICAL_CE, false},
      {"{'name':'mean_squared_error'}", FL_LOSS_MSE, false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char json[1024];
    fl_job_spec s;
    snprintf(json, sizeof json, WITH_LOSS("%s"), cases[i].loss);
    parse_ok(json, &s);
    assert_int_equal(s.loss.kind, cases[i].kind);
    assert_int_equal(s.loss.from_logits, cases[i].from_logits);
    fl_spec_free(&s);
  }
}

static void assert_optimizer_equal(const fl_optimizer_spec *a,
                                   const fl_optimizer_spec *b) {
  assert_int_equal(a->kind, b->kind);
  assert_true(floats_equal(a->learning_rate, b->learning_rate));
  assert_true(floats_equal(a->momentum, b->momentum));
  assert_int_equal(a->nesterov, b->nesterov);
  assert_true(floats_equal(a->beta_1, b->beta_1));
  assert_true(floats_equal(a->beta_2, b->beta_2));
  assert_true(floats_equal(a->epsilon, b->epsilon));
  assert_true(floats_equal(a->rho, b->rho));
  assert_true(floats_equal(a->weight_decay, b->weight_decay));
}

static void optimizer_forms(void **state) {
  (void)state;
  fl_job_spec s;
  fl_optimizer_spec want;

  /* Keras defaults, by string */
  parse_ok(SPEC("'optimizer':'sgd'"), &s);
  memset(&want, 0, sizeof want);
  want.kind = FL_OPT_SGD;
  want.learning_rate = 0.01f;
  assert_optimizer_equal(&s.optimizer, &want);
  fl_spec_free(&s);

  parse_ok(SPEC("'optimizer':'rmsprop'"), &s);
  memset(&want, 0, sizeof want);
  want.kind = FL_OPT_RMSPROP;
  want.learning_rate = 0.001f;
  want.rho = 0.9f;
  want.epsilon = 1e-7f;
  assert_optimizer_equal(&s.optimizer, &want);
  fl_spec_free(&s);

  parse_ok(SPEC("'optimizer':'adamw'"), &s);
  memset(&want, 0, sizeof want);
  want.kind = FL_OPT_ADAMW;
  want.learning_rate = 0.001f;
  want.beta_1 = 0.9f;
  want.beta_2 = 0.999f;
  want.epsilon = 1e-7f;
  want.weight_decay = 0.004f;
  assert_optimizer_equal(&s.optimizer, &want);
  fl_spec_free(&s);

  parse_ok(SPEC("'optimizer':'adam'"), &s);
  fl_optimizer_defaults(&want, FL_OPT_ADAM);
  assert_optimizer_equal(&s.optimizer, &want);
  fl_spec_free(&s);

  /* objects override some keys and keep the other defaults */
  parse_ok(SPEC("'optimizer':{'name':'rmsprop','rho':0.95,'momentum':0.5,"
                "'epsilon':1e-6}"),
           &s);
  fl_optimizer_defaults(&want, FL_OPT_RMSPROP);
  want.rho = 0.95f;
  want.momentum = 0.5f;
  want.epsilon = 1e-6f;
  assert_optimizer_equal(&s.optimizer, &want);
  fl_spec_free(&s);

  parse_ok(SPEC("'optimizer':{'name':'adamw','weight_decay':0.01,"
                "'beta_2':0.99,'learning_rate':3e-4}"),
           &s);
  fl_optimizer_defaults(&want, FL_OPT_ADAMW);
  want.weight_decay = 0.01f;
  want.beta_2 = 0.99f;
  want.learning_rate = 3e-4f;
  assert_optimizer_equal(&s.optimizer, &want);
  fl_spec_free(&s);

  parse_ok(SPEC("'optimizer':{'name':'sgd','momentum':0,'nesterov':false,"
                "'learning_rate':1000}"),
           &s);
  fl_optimizer_defaults(&want, FL_OPT_SGD);
  want.learning_rate = 1000.0f;
  assert_optimizer_equal(&s.optimizer, &want);
  fl_spec_free(&s);

  /* no name: the default optimizer, so a merge-patch fix of just the
   * learning rate still makes a complete spec */
  parse_ok(SPEC("'optimizer':{'learning_rate':0.01}"), &s);
  fl_optimizer_defaults(&want, FL_OPT_ADAM);
  want.learning_rate = 0.01f;
  assert_optimizer_equal(&s.optimizer, &want);
  fl_spec_free(&s);
}

static void initializer_forms(void **state) {
  (void)state;
  static const struct {
    const char *init;
    fl_init_kind kind;
    float param;
  } cases[] = {
      {"'glorot_uniform'", FL_INIT_GLOROT_UNIFORM, 0.0f},
      {"'glorot_normal'", FL_INIT_GLOROT_NORMAL, 0.0f},
      {"'he_normal'", FL_INIT_HE_NORMAL, 0.0f},
      {"'he_uniform'", FL_INIT_HE_UNIFORM, 0.0f},
      {"'zeros'", FL_INIT_ZEROS, 0.0f},
      {"'ones'", FL_INIT_ONES, 0.0f},
      {"'random_normal'", FL_INIT_RANDOM_NORMAL, 0.05f},
      {"'random_uniform'", FL_INIT_RANDOM_UNIFORM, 0.05f},
      {"'constant'", FL_INIT_CONSTANT, 0.0f},
      {"{'name':'he_uniform'}", FL_INIT_HE_UNIFORM, 0.0f},
      {"{'name':'random_normal','stddev':0.02}", FL_INIT_RANDOM_NORMAL, 0.02f},
      {"{'name':'random_normal'}", FL_INIT_RANDOM_NORMAL, 0.05f},
      {"{'name':'random_uniform','limit':0.5}", FL_INIT_RANDOM_UNIFORM, 0.5f},
      {"{'stddev':1.5,'name':'random_normal'}", FL_INIT_RANDOM_NORMAL, 1.5f},
      {"{'name':'constant','value':-2.5}", FL_INIT_CONSTANT, -2.5f},
      {"{'name':'constant'}", FL_INIT_CONSTANT, 0.0f},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char json[1024];
    fl_job_spec s;
    snprintf(json, sizeof json,
             "{" DATA
             ",'model':{'layers':[{'type':'dense','units':4,"
             "'kernel_initializer':%s,'bias_initializer':%s}]}," LOSS "}",
             cases[i].init, cases[i].init);
    parse_ok(json, &s);
    assert_int_equal(s.layers[0].kernel_init.kind, cases[i].kind);
    assert_true(floats_equal(s.layers[0].kernel_init.param, cases[i].param));
    assert_int_equal(s.layers[0].bias_init.kind, cases[i].kind);
    assert_true(floats_equal(s.layers[0].bias_init.param, cases[i].param));
    fl_spec_free(&s);
  }
}

/* issue 12: batch_normalization after a dense layer's activation (Keras'
 * defaults), before it (a linear dense layer, the normalization, then an
 * activation entry) with every key set, an activation entry folded into a
 * linear dense layer, and one giving the output layer its softmax. */
static void batch_normalization_forms(void **state) {
  (void)state;
  fl_job_spec s;
  parse_ok("{" DATA ",'model':{'layers':["
           "{'type':'dense','units':8,'activation':'relu'},"
           "{'type':'batch_normalization'},"
           "{'type':'dense','units':6},"
           "{'type':'batch_normalization','momentum':0.9,'epsilon':0.01,"
           "'center':false,'scale':true},"
           "{'type':'activation','activation':'tanh'},"
           "{'type':'dropout','rate':0.5},"
           "{'type':'dense','units':5},{'type':'activation','activation':'relu'},"
           "{'type':'dense','units':10},{'type':'activation','activation':'softmax'}"
           "]}," LOSS "}", &s);
  assert_int_equal(s.n_layers, 4);
  assert_true(s.layers[0].bn && !s.layers[0].bn_before_act);
  assert_int_equal(s.layers[0].activation, FL_ACT_RELU);
  assert_true(floats_equal(s.layers[0].bn_momentum, 0.99f));
  assert_true(floats_equal(s.layers[0].bn_epsilon, 0.001f));
  assert_true(s.layers[0].bn_center && s.layers[0].bn_scale);
  assert_true(s.layers[1].bn && s.layers[1].bn_before_act);
  assert_int_equal(s.layers[1].activation, FL_ACT_TANH);
  assert_true(floats_equal(s.layers[1].bn_momentum, 0.9f));
  assert_true(floats_equal(s.layers[1].bn_epsilon, 0.01f));
  assert_true(!s.layers[1].bn_center && s.layers[1].bn_scale);
  assert_true(floats_equal(s.layers[1].dropout, 0.5f));
  assert_true(!s.layers[2].bn);
  assert_int_equal(s.layers[2].activation, FL_ACT_RELU);
  assert_true(!s.layers[3].bn);
  assert_int_equal(s.layers[3].activation, FL_ACT_SOFTMAX);
  for (int i = 0; i < s.n_layers; i++)
    assert_int_equal(s.layers[i].stacked_activation, FL_ACT_LINEAR);
  fl_spec_free(&s);
  /* An activation entry on an output layer that has its own (softmax
   * twice, as Keras builds it): kept apart, for preflight to name; on a
   * hidden layer the same is refused (spec_errors). */
  parse_ok(WITH_LAYERS("{'type':'dense','units':8,'activation':'relu'}," OUT_LAYER
                       ",{'type':'activation','activation':'softmax'}"), &s);
  assert_int_equal(s.n_layers, 2);
  assert_int_equal(s.layers[1].activation, FL_ACT_SOFTMAX);
  assert_int_equal(s.layers[1].stacked_activation, FL_ACT_SOFTMAX);
  assert_int_equal(s.layers[0].stacked_activation, FL_ACT_LINEAR);
  fl_spec_free(&s);
  /* a linear dense layer and its normalization, no activation after it */
  parse_ok("{" DATA ",'model':{'layers':[{'type':'dense','units':8},"
           "{'type':'batch_normalization','momentum':0},"
           OUT_LAYER "]}," LOSS "}", &s);
  assert_true(s.layers[0].bn && !s.layers[0].bn_before_act);
  assert_int_equal(s.layers[0].activation, FL_ACT_LINEAR);
  assert_true(floats_equal(s.layers[0].bn_momentum, 0.0f));
  fl_spec_free(&s);
}

/* issue 12: a dropout entry folds into the dense layer before it (two in a
 * row compose), kernel_regularizer in its object and string forms, and
 * class_weight "balanced" or explicit. */
static void regularization_forms(void **state) {
  (void)state;
  fl_job_spec s;
  parse_ok("{" DATA ",'model':{'layers':[{'type':'dense','units':8,"
           "'kernel_regularizer':{'l2':0.01}},{'type':'dropout','rate':0.2},"
           "{'type':'dense','units':6,'kernel_regularizer':'l1'},"
           "{'type':'dropout','rate':0.5},{'type':'dropout','rate':0.5},"
           OUT_LAYER "]}," LOSS ",'class_weight':'balanced'}", &s);
  assert_int_equal(s.n_layers, 3);
  assert_int_equal(s.layers[1].units, 6);
  assert_true(floats_equal(s.layers[0].dropout, 0.2f));
  assert_true(floats_equal(s.layers[1].dropout, 0.75f));
  assert_true(floats_equal(s.layers[2].dropout, 0.0f));
  assert_true(floats_equal(s.layers[0].l2, 0.01f));
  assert_true(floats_equal(s.layers[0].l1, 0.0f));
  assert_true(floats_equal(s.layers[1].l1, 0.01f));
  assert_true(floats_equal(s.layers[2].l1 + s.layers[2].l2, 0.0f));
  assert_int_equal(s.layers[2].activation, FL_ACT_SOFTMAX);
  assert_int_equal(s.class_weight.mode, FL_CLASS_WEIGHT_BALANCED);
  fl_spec_free(&s);

  parse_ok(SPEC("'class_weight':{'0':1.5,'9':0}"), &s);
  assert_int_equal(s.class_weight.mode, FL_CLASS_WEIGHT_EXPLICIT);
  assert_int_equal(s.class_weight.n, 2);
  assert_int_equal(s.class_weight.cls[1], 9);
  assert_true(floats_equal(s.class_weight.weight[0], 1.5f));
  fl_spec_free(&s);
  parse_ok("{" BASE "}", &s);
  assert_int_equal(s.class_weight.mode, FL_CLASS_WEIGHT_NONE);
  assert_int_equal(fl_spec_classes(&s), 10);
  fl_spec_free(&s);

  /* metrics */
  parse_ok(SPEC("'metrics':['accuracy','top_3_accuracy']"), &s);
  assert_int_equal(s.top_k, 3);
  fl_spec_free(&s);
  parse_ok(SPEC("'metrics':['acc','sparse_top_k_categorical_accuracy']"), &s);
  assert_int_equal(s.top_k, 5);
  fl_spec_free(&s);
  parse_ok(SPEC("'metrics':['accuracy']"), &s);
  assert_int_equal(s.top_k, 0);
  fl_spec_free(&s);

  /* binary_crossentropy: one sigmoid unit, two classes */
  parse_ok("{" DATA ",'model':{'layers':[{'type':'dense','units':4},"
           "{'type':'dense','units':1,'activation':'sigmoid'}]},'loss':"
           "'binary_crossentropy','class_weight':{'1':4}}", &s);
  assert_int_equal(s.loss.kind, FL_LOSS_BINARY_CE);
  assert_int_equal(fl_spec_classes(&s), 2);
  assert_int_equal(s.class_weight.cls[0], 1);
  fl_spec_free(&s);
  parse_ok("{" DATA ",'model':{'layers':[{'type':'dense','units':1}]},'loss':"
           "{'name':'binary_crossentropy','from_logits':true}}", &s);
  assert_true(s.loss.from_logits);
  fl_spec_free(&s);
}

static void device_forms(void **state) {
  (void)state;
  fl_job_spec s;
  parse_ok(SPEC("'device':0"), &s);
  assert_string_equal(s.device, "0");
  fl_spec_free(&s);
  parse_ok(SPEC("'device':12"), &s);
  assert_string_equal(s.device, "12");
  fl_spec_free(&s);
  parse_ok(SPEC("'device':'gfx90a'"), &s);
  assert_string_equal(s.device, "gfx90a");
  fl_spec_free(&s);
}

/* Well-formed UTF-8 passes through, raw or escaped (surrogate pairs too),
 * and a leading byte-order mark is tolerated as cJSON does. */
static void utf8_text_is_kept(void **state) {
  (void)state;
  fl_job_spec s;
  parse_ok(SPEC("'name':'caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80'"), &s);
  assert_string_equal(s.name, "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80");
  fl_spec_free(&s);
  parse_ok(SPEC("'name':'caf\\u00e9 \\u2713 \\ud83d\\ude00'"), &s);
  assert_string_equal(s.name, "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80");
  fl_spec_free(&s);
  parse_ok("\xef\xbb\xbf{" BASE "}", &s);
  assert_int_equal(s.n_layers, 1);
  fl_spec_free(&s);
}

/* Every name the parser accepts is the name fl_*_name gives back, and the
 * other way round: both come from one list. */
static void names_round_trip(void **state) {
  (void)state;
  char json[1024];
  fl_job_spec s;
  for (int a = FL_ACT_LINEAR; a <= FL_ACT_SOFTMAX; a++) {
    snprintf(json, sizeof json,
             WITH_LAYERS("{'type':'dense','units':2,'activation':'%s'}"),
             fl_activation_name((fl_activation)a));
    parse_ok(json, &s);
    assert_int_equal(s.layers[0].activation, a);
    fl_spec_free(&s);
  }
  for (int l = FL_LOSS_CATEGORICAL_CE; l <= FL_LOSS_MSE; l++) {
    snprintf(json, sizeof json, WITH_LOSS("'%s'"),
             fl_loss_name((fl_loss_kind)l));
    parse_ok(json, &s);
    assert_int_equal(s.loss.kind, l);
    fl_spec_free(&s);
  }
  for (int o = FL_OPT_SGD; o <= FL_OPT_ADAMW; o++) {
    snprintf(json, sizeof json, SPEC("'optimizer':'%s'"),
             fl_optimizer_name((fl_optimizer_kind)o));
    parse_ok(json, &s);
    assert_int_equal(s.optimizer.kind, o);
    fl_spec_free(&s);
  }
  for (int i = FL_INIT_GLOROT_UNIFORM; i <= FL_INIT_CONSTANT; i++) {
    snprintf(json, sizeof json, WITH_KERNEL_INIT("'%s'"),
             fl_init_name((fl_init_kind)i));
    parse_ok(json, &s);
    assert_int_equal(s.layers[0].kernel_init.kind, i);
    fl_spec_free(&s);
  }
  for (int p = FL_PLATEAU_ALERT; p <= FL_PLATEAU_FIX; p++) {
    snprintf(json, sizeof json, SPEC("'monitor':{'on_plateau':'%s'}"),
             fl_plateau_action_name((fl_plateau_action)p));
    parse_ok(json, &s);
    assert_int_equal(s.monitor.on_plateau, p);
    fl_spec_free(&s);
  }
  assert_string_equal(fl_activation_name(FL_ACT_LEAKY_RELU), "leaky_relu");
  assert_string_equal(fl_loss_name(FL_LOSS_MSE), "mean_squared_error");
  assert_string_equal(fl_optimizer_name(FL_OPT_RMSPROP), "rmsprop");
  assert_string_equal(fl_init_name(FL_INIT_RANDOM_UNIFORM), "random_uniform");
  assert_string_equal(fl_plateau_action_name(FL_PLATEAU_REDUCE_LR),
                      "reduce_lr");
  assert_string_equal(fl_activation_name((fl_activation)99), "unknown");
}

/* ---- wrong specs ------------------------------------------------------- */

typedef struct {
  const char *json;   /* ' stands for " */
  int code;           /* expected return code */
  const char *path;   /* the message starts with "<path>: " */
  const char *phrase; /* and contains this, unless NULL */
} bad_spec;

static const bad_spec bad_specs[] = {
    /* unknown keys, one per level, with did-you-mean where one is close */
    {SPEC("'epoch':3"), FL_ESPEC, "epoch", "did you mean \"epochs\""},
    {SPEC("'optimiser':'adam'"), FL_ESPEC, "optimiser",
     "did you mean \"optimizer\""},
    {SPEC("'verbose':1"), FL_ESPEC, "verbose", "unknown key (expected"},
    {WITH_DATA(TRAIN_NPY ",'test':{}"), FL_ESPEC, "data.test", "unknown key"},
    {WITH_TRAIN("{'features':'X.npy','label':'y.npy'}"), FL_ESPEC,
     "data.train.label", "did you mean \"labels\""},
    {WITH_TRAIN("{'x':'X.npy','y':'y.npy'}"), FL_ESPEC, "data.train.x",
     "did you mean \"features\""},
    {"{" DATA ",'model':{'layers':[" OUT_LAYER "],'name':'m'}," LOSS "}",
     FL_ESPEC, "model.name", "unknown key"},
    {WITH_LAYERS("{'type':'dense','units':4,'use_bias':false}"), FL_ESPEC,
     "model.layers[0].use_bias", "unknown key"},
    {WITH_LAYERS("{'type':'dense','unit':4}"), FL_ESPEC, "model.layers[0].unit",
     "did you mean \"units\""},
    {WITH_KERNEL_INIT("{'name':'random_normal','mean':0}"), FL_ESPEC,
     "model.layers[0].kernel_initializer.mean", "unknown key"},
    {WITH_LOSS("{'name':'categorical_crossentropy','reduction':'sum'}"),
     FL_ESPEC, "loss.reduction", "unknown key"},
    {SPEC("'optimizer':{'name':'adam','amsgrad':true}"), FL_ESPEC,
     "optimizer.amsgrad", "unknown key"},
    {SPEC("'monitor':{'mode':'min'}"), FL_ESPEC, "monitor.mode", "unknown key"},
    {SPEC("'optimizer':{'name':'adam','lr':0.1}"), FL_ESPEC, "optimizer.lr",
     "did you mean \"learning_rate\""},
    {SPEC("'optimizer':{'name':'adam','learnig_rate':0.1}"), FL_ESPEC,
     "optimizer.learnig_rate", "did you mean \"learning_rate\""},
    {WITH_LAYERS("{'type':'dense','units':4,'kernel_init':'zeros'}"), FL_ESPEC,
     "model.layers[0].kernel_init", "did you mean \"kernel_initializer\""},
    {SPEC("'bad key\\n':1"), FL_ESPEC, "[\"bad key\\u000a\"]", "unknown key"},

    /* duplicate keys (cJSON keeps both; lookups would see the first) */
    {SPEC("'epochs':2,'epochs':3"), FL_ESPEC, "epochs", "duplicate key"},
    {WITH_LAYERS("{'type':'dense','units':3,'units':4}"), FL_ESPEC,
     "model.layers[0].units", "duplicate key"},
    {WITH_DATA(TRAIN_NPY "," TRAIN_NPY), FL_ESPEC, "data.train",
     "duplicate key"},

    /* wrong types */
    {SPEC("'name':3"), FL_ESPEC, "name", "expected a job name, got 3"},
    {SPEC("'epochs':'10'"), FL_ESPEC, "epochs", "got \"10\""},
    {SPEC("'shuffle':1"), FL_ESPEC, "shuffle", "expected true or false"},
    {SPEC("'shuffle':'true'"), FL_ESPEC, "shuffle", "got \"true\""},
    {SPEC("'seed':null"), FL_ESPEC, "seed", "got null"},
    {"{'data':[]," MODEL "," LOSS "}", FL_ESPEC, "data",
     "expected an object, got an array"},
    {"{'data':{'train':'X.npy'}," MODEL "," LOSS "}", FL_ESPEC, "data.train",
     "got \"X.npy\""},
    {"{" DATA ",'model':{'layers':{}}," LOSS "}", FL_ESPEC, "model.layers",
     "got an object"},
    {WITH_LAYERS("'dense'"), FL_ESPEC, "model.layers[0]", "a layer object"},
    {WITH_LOSS("3"), FL_ESPEC, "loss", "a loss name"},
    {WITH_LOSS("{'name':'categorical_crossentropy','from_logits':'yes'}"),
     FL_ESPEC, "loss.from_logits", "expected true or false"},
    {SPEC("'optimizer':['adam']"), FL_ESPEC, "optimizer", "got an array"},
    {SPEC("'monitor':true"), FL_ESPEC, "monitor", "expected an object"},
    {WITH_KERNEL_INIT("3"), FL_ESPEC, "model.layers[0].kernel_initializer",
     "an initializer name"},
    {SPEC("'device':true"), FL_ESPEC, "device", "got true"},
    {WITH_TRAIN("{'features':'X.npy','labels':7}"), FL_ESPEC,
     "data.train.labels", "expected a file path, got 7"},

    /* numbers: integral, in range, finite, float32-sized */
    {WITH_LAYERS("{'type':'dense','units':3.5}"), FL_ESPEC,
     "model.layers[0].units", "expected an integer from 1 to 65536, got 3.5"},
    {WITH_LAYERS("{'type':'dense','units':0}"), FL_ESPEC,
     "model.layers[0].units", "got 0"},
    {WITH_LAYERS("{'type':'dense','units':65537}"), FL_ESPEC,
     "model.layers[0].units", "got 65537"},
    {WITH_LAYERS("{'type':'dense','units':1e400}"), FL_ESPEC,
     "model.layers[0].units", "too large to represent"},
    {WITH_LAYERS("{'type':'dense','units':1e300}"), FL_ESPEC,
     "model.layers[0].units", "got 1e+300"},
    {SPEC("'optimizer':{'learning_rate':1e400}"), FL_ESPEC,
     "optimizer.learning_rate", "too large to represent"},
    {SPEC("'optimizer':{'learning_rate':-1e400}"), FL_ESPEC,
     "optimizer.learning_rate", "negative number too large"},
    {SPEC("'optimizer':{'learning_rate':0}"), FL_ESPEC,
     "optimizer.learning_rate", "expected a number in (0, 1000], got 0"},
    {SPEC("'optimizer':{'learning_rate':1000.5}"), FL_ESPEC,
     "optimizer.learning_rate", "got 1000.5"},
    {SPEC("'optimizer':{'name':'sgd','momentum':1}"), FL_ESPEC,
     "optimizer.momentum", "[0, 1)"},
    {SPEC("'optimizer':{'name':'sgd','momentum':0.99999999999}"), FL_ESPEC,
     "optimizer.momentum", "which is 1 as a 32-bit float"},
    {SPEC("'optimizer':{'beta_1':-0.1}"), FL_ESPEC, "optimizer.beta_1",
     "got -0.1"},
    {SPEC("'optimizer':{'beta_2':1.0}"), FL_ESPEC, "optimizer.beta_2", NULL},
    {SPEC("'optimizer':{'epsilon':0}"), FL_ESPEC, "optimizer.epsilon",
     "expected a number > 0"},
    {SPEC("'optimizer':{'epsilon':1e300}"), FL_ESPEC, "optimizer.epsilon",
     "fits a 32-bit float"},
    {SPEC("'optimizer':{'epsilon':1e-50}"), FL_ESPEC, "optimizer.epsilon",
     "which is 0 as a 32-bit float"},
    {SPEC("'optimizer':{'name':'rmsprop','rho':1}"), FL_ESPEC, "optimizer.rho",
     NULL},
    {SPEC("'optimizer':{'name':'adamw','weight_decay':-0.01}"), FL_ESPEC,
     "optimizer.weight_decay", "expected a number >= 0"},
    {SPEC("'epochs':0"), FL_ESPEC, "epochs", "from 1 to 100000"},
    {SPEC("'epochs':100001"), FL_ESPEC, "epochs", NULL},
    {SPEC("'batch_size':0"), FL_ESPEC, "batch_size", "from 1 to 65536"},
    {SPEC("'batch_size':65537"), FL_ESPEC, "batch_size", NULL},
    {SPEC("'seed':-1"), FL_ESPEC, "seed", "got -1"},
    {SPEC("'seed':1.5"), FL_ESPEC, "seed", NULL},
    {SPEC("'seed':9007199254740993"), FL_ESPEC, "seed", NULL},
    {SPEC("'seed':1e300"), FL_ESPEC, "seed", NULL},
    {SPEC("'monitor':{'patience':0}"), FL_ESPEC, "monitor.patience",
     "from 1 to 10000"},
    {SPEC("'monitor':{'patience':10001}"), FL_ESPEC, "monitor.patience", NULL},
    {SPEC("'monitor':{'min_delta':-0.001}"), FL_ESPEC, "monitor.min_delta",
     NULL},
    {SPEC("'device':-1"), FL_ESPEC, "device",
     "expected \"auto\", a device index (0, 1, ...) or part of a device "
     "name, got -1"},
    {SPEC("'device':1.5"), FL_ESPEC, "device", NULL},
    {WITH_DATA(TRAIN_NPY ",'validation_split':1"), FL_ESPEC,
     "data.validation_split", "[0, 1)"},
    {WITH_DATA(TRAIN_NPY ",'validation_split':-0.1"), FL_ESPEC,
     "data.validation_split", NULL},
    {WITH_TRAIN("{'features':'X.npy','labels':'y.npy','scale':0}"), FL_ESPEC,
     "data.train.scale", "expected a non-zero number, got 0"},
    {WITH_TRAIN("{'features':'X.npy','labels':'y.npy','scale':1e-60}"),
     FL_ESPEC, "data.train.scale", "0 as a 32-bit float"},
    {WITH_KERNEL_INIT("{'name':'random_normal','stddev':0}"), FL_ESPEC,
     "model.layers[0].kernel_initializer.stddev", "> 0"},
    {WITH_KERNEL_INIT("{'name':'random_uniform','limit':-1}"), FL_ESPEC,
     "model.layers[0].kernel_initializer.limit", NULL},

    /* keys that belong to another optimizer, loss or initializer */
    {SPEC("'optimizer':{'name':'adam','momentum':0.9}"), FL_ESPEC,
     "optimizer.momentum",
     "adam takes no \"momentum\" (only sgd and "
     "rmsprop do)"},
    {SPEC("'optimizer':{'momentum':0.9}"), FL_ESPEC, "optimizer.momentum",
     "adam takes no"},
    {SPEC("'optimizer':{'name':'adam','weight_decay':0.01}"), FL_ESPEC,
     "optimizer.weight_decay", "only adamw does"},
    {SPEC("'optimizer':{'name':'sgd','rho':0.9}"), FL_ESPEC, "optimizer.rho",
     "sgd takes no"},
    {SPEC("'optimizer':{'name':'rmsprop','nesterov':true}"), FL_ESPEC,
     "optimizer.nesterov", "only sgd does"},
    {WITH_LOSS("{'name':'mean_squared_error','from_logits':false}"), FL_ESPEC,
     "loss.from_logits", "mean_squared_error takes no"},
    {WITH_KERNEL_INIT("{'name':'he_normal','stddev':0.1}"), FL_ESPEC,
     "model.layers[0].kernel_initializer.stddev",
     "he_normal takes no \"stddev\" (only random_normal does)"},
    {WITH_KERNEL_INIT("{'name':'random_normal','limit':0.1}"), FL_ESPEC,
     "model.layers[0].kernel_initializer.limit", "only random_uniform"},

    /* names */
    {SPEC("'optimizer':{'name':'adagrad'}"), FL_ESPEC, "optimizer.name",
     "expected one of \"sgd\", \"adam\", \"rmsprop\" or \"adamw\""},
    {SPEC("'optimizer':'Adam'"), FL_ESPEC, "optimizer",
     "did you mean \"adam\""},
    {WITH_LOSS("'crossentropy'"), FL_ESPEC, "loss", "got \"crossentropy\""},
    {WITH_LOSS("'mse'"), FL_ESPEC, "loss",
     "did you mean \"mean_squared_error\""},
    {WITH_LOSS("{'from_logits':true}"), FL_ESPEC, "loss.name",
     "required key is missing"},
    {WITH_LAYERS("{'type':'dense','units':2,'activation':'gelu'}"), FL_ESPEC,
     "model.layers[0].activation", "got \"gelu\""},
    {WITH_LAYERS("{'type':'dense','units':2,'activation':'Relu'}"), FL_ESPEC,
     "model.layers[0].activation", "did you mean \"relu\""},
    {WITH_LAYERS("{'type':'lstm','units':2}"), FL_ESPEC,
     "model.layers[0].type",
     "expected one of \"dense\", \"dropout\", \"batch_normalization\", "
     "\"activation\", \"conv2d\""},
    /* issue 12: dropout, kernel_regularizer, class_weight */
    {WITH_LAYERS("{'type':'dropout','rate':0.2}," OUT_LAYER), FL_ESPEC,
     "model.layers[0]", "must follow a dense layer"},
    {WITH_LAYERS(OUT_LAYER ",{'type':'dropout','rate':0.2}"), FL_ESPEC,
     "model.layers[1]", "move it before the last dense layer"},
    {WITH_LAYERS("{'type':'dense','units':4},{'type':'dropout','rate':1}," OUT_LAYER),
     FL_ESPEC, "model.layers[1].rate", NULL},
    {WITH_LAYERS("{'type':'dense','units':4},{'type':'dropout'}," OUT_LAYER),
     FL_ESPEC, "model.layers[1].rate", "required key is missing"},
    {WITH_LAYERS("{'type':'dense','units':4},{'type':'dropout','rate':0.1,"
                 "'units':3}," OUT_LAYER),
     FL_ESPEC, "model.layers[1].units", "expected \"type\" or \"rate\""},
    {WITH_LAYERS("{'type':'dropout','rate':0.1}"), FL_ESPEC, "model.layers",
     "got no dense layer"},
    /* issue 12: batch_normalization and activation entries */
    {WITH_LAYERS("{'type':'batch_normalization'}," OUT_LAYER), FL_ESPEC,
     "model.layers[0]",
     "a batch_normalization entry must follow a dense layer (flatline does "
     "not transform input features; for standardized inputs set "
     "data.normalize to \"standardize\"); move it after the first dense "
     "layer or remove it"},
    {WITH_LAYERS(OUT_LAYER ",{'type':'batch_normalization'}"), FL_ESPEC,
     "model.layers[1]",
     "a batch_normalization after the output layer would normalize "
     "predictions; move it before the last dense layer (model.layers[0]) or "
     "remove it"},
    {WITH_LAYERS("{'type':'dense','units':4},{'type':'batch_normalization'},"
                 "{'type':'batch_normalization'}," OUT_LAYER),
     FL_ESPEC, "model.layers[2]",
     "a second batch_normalization on dense layer 0; keep one (two in a row "
     "normalize what is already normalized)"},
    {WITH_LAYERS("{'type':'dense','units':4},{'type':'dropout','rate':0.2},"
                 "{'type':'batch_normalization'}," OUT_LAYER),
     FL_ESPEC, "model.layers[2]",
     "a batch_normalization after a dropout; put it before the dropout "
     "(dense, batch_normalization, dropout)"},
    {WITH_LAYERS("{'type':'dense','units':4},{'type':'batch_normalization',"
                 "'momentum':1}," OUT_LAYER),
     FL_ESPEC, "model.layers[1].momentum", NULL},
    {WITH_LAYERS("{'type':'dense','units':4},{'type':'batch_normalization',"
                 "'epsilon':0}," OUT_LAYER),
     FL_ESPEC, "model.layers[1].epsilon", NULL},
    {WITH_LAYERS("{'type':'dense','units':4},{'type':'batch_normalization',"
                 "'momentom':0.9}," OUT_LAYER),
     FL_ESPEC, "model.layers[1].momentom", "did you mean \"momentum\""},
    {WITH_LAYERS("{'type':'dense','units':4},{'type':'batch_normalization',"
                 "'center':1}," OUT_LAYER),
     FL_ESPEC, "model.layers[1].center", NULL},
    {WITH_LAYERS("{'type':'dense','units':4,'activation':'relu'},"
                 "{'type':'activation','activation':'tanh'}," OUT_LAYER),
     FL_ESPEC, "model.layers[1]",
     "an activation entry must follow a dense layer without an activation, "
     "but dense layer 0 has \"activation\": \"relu\"; remove one of the two "
     "(for normalization before the activation: a linear dense layer, "
     "batch_normalization, then this entry)"},
    {WITH_LAYERS("{'type':'dense','units':4},{'type':'dropout','rate':0.2},"
                 "{'type':'activation','activation':'relu'}," OUT_LAYER),
     FL_ESPEC, "model.layers[2]",
     "an activation entry must directly follow a dense layer or its "
     "batch_normalization (dense, batch_normalization, activation, "
     "dropout); dense layer 0 has a dropout before it: move this entry up "
     "or remove it"},
    {WITH_LAYERS("{'type':'dense','units':4},{'type':'batch_normalization'},"
                 "{'type':'activation','activation':'relu'},"
                 "{'type':'activation','activation':'relu'}," OUT_LAYER),
     FL_ESPEC, "model.layers[3]",
     "dense layer 0 has an activation entry before it"},
    {WITH_LAYERS("{'type':'activation','activation':'relu'}," OUT_LAYER),
     FL_ESPEC, "model.layers[0]", "an activation entry must follow a dense layer"},
    {WITH_LAYERS("{'type':'dense','units':4},{'type':'activation'}," OUT_LAYER),
     FL_ESPEC, "model.layers[1].activation", "required key is missing"},
    {WITH_LAYERS("{'type':'dense','units':4},{'type':'activation',"
                 "'activation':'softmax'}," OUT_LAYER),
     FL_ESPEC, "model.layers[1]",
     "expected softmax only on the last layer, got it after dense layer 0 of 2"},
    {WITH_LAYERS("{'type':'dense','units':4},{'type':'activation',"
                 "'activation':'relu','units':3}," OUT_LAYER),
     FL_ESPEC, "model.layers[1].units", "expected \"type\" or \"activation\""},
    {WITH_LAYERS("{'type':'dense','units':4,'kernel_regularizers':{'l2':0.1}}"),
     FL_ESPEC, "model.layers[0].kernel_regularizers",
     "did you mean \"kernel_regularizer\""},
    {WITH_LAYERS("{'type':'dense','units':4,'kernel_regularizer':{'l3':0.1}}"),
     FL_ESPEC, "model.layers[0].kernel_regularizer.l3", "did you mean"},
    {WITH_LAYERS("{'type':'dense','units':4,'kernel_regularizer':{'l2':-1}}"),
     FL_ESPEC, "model.layers[0].kernel_regularizer.l2", NULL},
    {WITH_LAYERS("{'type':'dense','units':4,'kernel_regularizer':'l3'}"),
     FL_ESPEC, "model.layers[0].kernel_regularizer", "{\"l2\": 0.01}"},
    {SPEC("'class_weights':'balanced'"), FL_ESPEC, "class_weights",
     "did you mean \"class_weight\""},
    {SPEC("'class_weight':'balance'"), FL_ESPEC, "class_weight",
     "\"balanced\" or an object"},
    {SPEC("'class_weight':{'10':2}"), FL_ESPEC, "class_weight.10",
     "class id from 0 to 9"},
    {SPEC("'class_weight':{'cat':2}"), FL_ESPEC, "class_weight.cat",
     "class id from 0 to 9"},
    {SPEC("'class_weight':{'1':-2}"), FL_ESPEC, "class_weight.1", NULL},
    {SPEC("'class_weight':{}"), FL_ESPEC, "class_weight", "empty object"},
    {SPEC("'class_weight':[1,2]"), FL_ESPEC, "class_weight", NULL},
    /* metrics: Keras' names, top-k needs more than k classes */
    {SPEC("'metrics':['acuracy']"), FL_ESPEC, "metrics[0]",
     "did you mean \"accuracy\""},
    {SPEC("'metrics':['top_10_accuracy']"), FL_ESPEC, "metrics[0]",
     "needs more than 10 classes"},
    {SPEC("'metrics':['top_3_accuracy','top_5_accuracy']"), FL_ESPEC,
     "metrics[1]", "a second top-k accuracy"},
    {SPEC("'metrics':'accuracy'"), FL_ESPEC, "metrics", "an array"},
    {SPEC("'metrics':['top_0_accuracy']"), FL_ESPEC, "metrics[0]", NULL},
    /* binary_crossentropy on K units or one softmax unit parses: preflight
     * names it (output_loss_mismatch, test_preflight.c) */
    {WITH_LOSS("'binary_crosentropy'"), FL_ESPEC, "loss",
     "did you mean \"binary_crossentropy\""},
    {"{" DATA ",'model':{'layers':[{'type':'dense','units':1,'activation':"
     "'sigmoid'}]},'loss':'binary_crossentropy','class_weight':{'2':1}}",
     FL_ESPEC, "class_weight.2", "class id from 0 to 1"},
    {WITH_KERNEL_INIT("'xavier_uniform'"), FL_ESPEC,
     "model.layers[0].kernel_initializer", "did you mean \"glorot_uniform\""},
    {WITH_KERNEL_INIT("{'stddev':0.1}"), FL_ESPEC,
     "model.layers[0].kernel_initializer.name", "required key is missing"},
    {SPEC("'monitor':{'on_plateau':'halt'}"), FL_ESPEC, "monitor.on_plateau",
     NULL},
    {SPEC("'name':''"), FL_ESPEC, "name", "got \"\""},
    {SPEC("'name':'two\\nlines'"), FL_ESPEC, "name",
     "without control characters, got \"two\\u000alines\""},
    {SPEC("'device':''"), FL_ESPEC, "device",
     "part of a device name, got \"\""},

    /* model structure */
    {WITH_LAYERS("{'type':'dense','units':4,'activation':'softmax'},"
                 "{'type':'dense','units':2}"),
     FL_ESPEC, "model.layers[0].activation", "only on the last layer"},
    {WITH_LAYERS(""), FL_ESPEC, "model.layers", "got an empty array"},
    {"{" DATA ",'model':{}," LOSS "}", FL_ESPEC, "model.layers",
     "required key is missing"},
    {WITH_LAYERS("{'units':4}"), FL_ESPEC, "model.layers[0].type",
     "required key is missing"},
    {WITH_LAYERS("{'type':'dense'}"), FL_ESPEC, "model.layers[0].units",
     "required key is missing (expected an integer from 1 to 65536)"},
    {WITH_LAYERS("{'type':'dense','units':4},{'type':'dense','units':-3}"),
     FL_ESPEC, "model.layers[1].units",
     "expected an integer from 1 to 65536, got -3"},

    /* required sections */
    {"{" MODEL "," LOSS "}", FL_ESPEC, "data", "required key is missing"},
    {"{" DATA "," LOSS "}", FL_ESPEC, "model", "required key is missing"},
    {"{" DATA "," MODEL "}", FL_ESPEC, "loss", "required key is missing"},
    {WITH_DATA("'validation':{'features':'a','labels':'b'}"), FL_ESPEC,
     "data.train", "required key is missing"},

    /* data sources */
    {WITH_TRAIN("{'features':'X.npy','labels':'y.npy','csv':'t.csv'}"),
     FL_ESPEC, "data.train.csv", "cannot be mixed with \"features\""},
    {WITH_TRAIN("{'idx_images':'i','features':'X.npy'}"), FL_ESPEC,
     "data.train.features", "cannot be mixed with \"idx_images\""},
    {WITH_TRAIN("{'features':'X.npy'}"), FL_ESPEC, "data.train.labels",
     "required key is missing (\"labels\" goes with \"features\")"},
    {WITH_TRAIN("{'label_columns':[0]}"), FL_ESPEC, "data.train.csv",
     "required key is missing"},
    {WITH_TRAIN("{}"), FL_ESPEC, "data.train", "none of these keys"},
    {WITH_TRAIN("{'scale':2}"), FL_ESPEC, "data.train", "none of these keys"},
    {WITH_TRAIN("{'csv':'t.csv','label_columns':[]}"), FL_ESPEC,
     "data.train.label_columns", "got an empty array"},
    {WITH_TRAIN("{'csv':'t.csv','label_columns':'y'}"), FL_ESPEC,
     "data.train.label_columns", "got \"y\""},
    {WITH_TRAIN("{'csv':'t.csv','label_columns':['a','b','a']}"), FL_ESPEC,
     "data.train.label_columns[2]", "duplicate label column"},
    {WITH_TRAIN("{'csv':'t.csv','label_columns':[3,3]}"), FL_ESPEC,
     "data.train.label_columns[1]", "duplicate label column"},
    {WITH_TRAIN("{'csv':'t.csv','label_columns':[-1]}"), FL_ESPEC,
     "data.train.label_columns[0]",
     "expected a column name or a 0-based column index, got -1"},
    {WITH_TRAIN("{'csv':'t.csv','label_columns':[true]}"), FL_ESPEC,
     "data.train.label_columns[0]", "got true"},
    {WITH_TRAIN("{'csv':'t.csv','label_columns':['']}"), FL_ESPEC,
     "data.train.label_columns[0]", NULL},
    {WITH_TRAIN("{'features':'','labels':'y.npy'}"), FL_ESPEC,
     "data.train.features", "expected a file path, got \"\""},
    {WITH_DATA(TRAIN_NPY ",'validation':{'csv':'v.csv'}"), FL_ESPEC,
     "data.validation.label_columns", "required key is missing"},

    /* not JSON, or not a JSON object */
    {"{'name':'x',", FL_EPARSE, "spec", "unexpected end of input"},
    {"{" BASE, FL_EPARSE, "spec",
     "near byte 167 (line 1, column 168): "
     "unexpected end of input"},
    {"{'name':'x", FL_EPARSE, "spec", "unterminated string"},
    {"{" BASE "} {}", FL_EPARSE, "spec",
     "near byte 170 (line 1, column 171): unexpected text after the "
     "top-level value"},
    {"{" BASE ",}", FL_EPARSE, "spec", "not valid JSON near byte"},
    {SPEC("'epochs':NaN"), FL_EPARSE, "spec", "not valid JSON"},
    {SPEC("'epochs':01"), FL_EPARSE, "spec", "malformed number"},
    {SPEC("'epochs':1."), FL_EPARSE, "spec", "malformed number"},
    {SPEC("'name':'a\\qb'"), FL_EPARSE, "spec", "unknown escape"},
    {SPEC("'name':'a\\u00'"), FL_EPARSE, "spec", "four hex digits"},
    {SPEC("'name':'a\\u0000b'"), FL_EPARSE, "spec", "NUL"},
    {SPEC("'name':'\\udc00'"), FL_EPARSE, "spec", "not valid JSON"},
    {SPEC("'name':'a\tb'"), FL_EPARSE, "spec", "raw control character"},
    {SPEC("'name':'caf\xe9'"), FL_EPARSE, "spec", "invalid UTF-8"},
    {SPEC("'name':'\xc0\xaf'"), FL_EPARSE, "spec", "invalid UTF-8"},
    {SPEC("'name':'\xed\xa0\x80'"), FL_EPARSE, "spec", "invalid UTF-8"},
    {SPEC("'name':'\xf4\x90\x80\x80'"), FL_EPARSE, "spec", "invalid UTF-8"},
    {SPEC("'name':'\xe2\x82'"), FL_EPARSE, "spec", "invalid UTF-8"},
    {"\x01{" BASE "}", FL_EPARSE, "spec", "control character outside"},
    {"", FL_EPARSE, "spec", "empty input"},
    {" \n\t ", FL_EPARSE, "spec", "empty input"},
    {"["
     "{" BASE "}"
     "]",
     FL_ESPEC, "spec",
     "expected an object, got an "
     "array"},
    {"'spec'", FL_ESPEC, "spec", "got \"spec\""},
    {"null", FL_ESPEC, "spec", "got null"},
    {"42", FL_ESPEC, "spec", "got 42"},
};

static void wrong_specs_are_rejected_with_their_key_path(void **state) {
  (void)state;
  size_t n = sizeof bad_specs / sizeof bad_specs[0];
  assert_true(n >= 40);
  /* the pieces the corpus is built from are valid on their own */
  fl_job_spec s;
  parse_ok("{" BASE "}", &s);
  fl_spec_free(&s);

  for (size_t i = 0; i < n; i++) {
    const bad_spec *b = &bad_specs[i];
    fl_error err;
    int rc = parse(b->json, &s, &err);
    size_t path_len = strlen(b->path);
    bool path_ok = strncmp(err.msg, b->path, path_len) == 0 &&
                   err.msg[path_len] == ':' && err.msg[path_len + 1] == ' ';
    bool phrase_ok = !b->phrase || strstr(err.msg, b->phrase);
    if (rc != b->code || err.code != rc || !path_ok || !phrase_ok) {
      fail_msg("case %zu: %s\n  want %d \"%s: ...%s...\"\n  got  %d \"%s\"", i,
               b->json, b->code, b->path, b->phrase ? b->phrase : "", rc,
               err.msg);
    }
    /* a rejected spec is left zeroed, so freeing it is safe and a stale
     * field cannot be mistaken for a parsed one */
    assert_int_equal(s.n_layers, 0);
    assert_null(s.train.label_columns);
    assert_string_equal(s.name, "");
    fl_spec_free(&s);
  }
}

/* The two messages the contract quotes, word for word. */
static void messages_read_as_documented(void **state) {
  (void)state;
  fl_error err;
  parse_fails(WITH_LAYERS("{'type':'dense','units':4},"
                          "{'type':'dense','units':-3}"),
              FL_ESPEC, &err);
  assert_string_equal(err.msg,
                      "model.layers[1].units: expected an integer from 1 to "
                      "65536, got -3");
  parse_fails(SPEC("'optimizer':{'lr':0.01}"), FL_ESPEC, &err);
  assert_string_equal(err.msg,
                      "optimizer.lr: unknown key (did you mean "
                      "\"learning_rate\"?)");
  /* a slip gets a hint; another name that merely looks close does not */
  parse_fails(WITH_LAYERS("{'type':'dense','units':2,'activation':'tahn'}"),
              FL_ESPEC, &err);
  assert_non_null(strstr(err.msg, "got \"tahn\" (did you mean \"tanh\"?)"));
  parse_fails(WITH_LAYERS("{'type':'dense','units':2,'activation':'gelu'}"),
              FL_ESPEC, &err);
  assert_string_equal(err.msg,
                      "model.layers[0].activation: expected one of "
                      "\"linear\", \"relu\", \"leaky_relu\", \"tanh\", "
                      "\"sigmoid\" or \"softmax\", got \"gelu\"");
}

static void parse_errors_locate_the_byte(void **state) {
  (void)state;
  fl_error err;
  /* cJSON stops on the stray comma that opens line 3 */
  parse_fails("{\n'name': 'x',\n,\n}", FL_EPARSE, &err);
  assert_non_null(strstr(err.msg, "(line 3, column "));
  /* the pre-scan names the exact byte: 0xE9 is byte 16, line 2 column 15 */
  parse_fails("{\n  'name': 'caf\xe9'\n}", FL_EPARSE, &err);
  assert_non_null(strstr(err.msg, "near byte 16 (line 2, column 15)"));
}

/* A long run of distinct allocations and the free on the way out of an
 * error: label columns are allocated before a later key fails. */
static void rejected_spec_frees_what_it_allocated(void **state) {
  (void)state;
  fl_job_spec s;
  fl_error err;
  int rc = parse(
      "{'data':{'train':{'csv':'t.csv','label_columns':['a','b']},"
      "'validation':{'csv':'v.csv','label_columns':[0]}}," MODEL "," LOSS
      ",'epochs':0}",
      &s, &err);
  assert_int_equal(rc, FL_ESPEC);
  assert_null(s.train.label_columns);
  assert_null(s.validation.label_columns);
  assert_int_equal(s.train.n_label_columns, 0);
  fl_spec_free(&s);
}

static void bad_arguments(void **state) {
  (void)state;
  fl_job_spec s;
  fl_error err;
  memset(&err, 0, sizeof err);
  assert_int_equal(fl_spec_parse(NULL, 3, &s, &err), FL_EINVAL);
  assert_true(err.msg[0] != '\0');
  assert_int_equal(fl_spec_parse("{}", 2, NULL, &err), FL_EINVAL);
  /* err may be NULL: the code still comes back */
  assert_int_equal(fl_spec_parse("{", 1, &s, NULL), FL_EPARSE);
  assert_int_equal(fl_spec_parse("{}", 2, &s, NULL), FL_ESPEC);
  /* len, not a NUL, ends the input */
  static const char two_specs[] = "{'x':1}{'y':2}";
  assert_int_equal(parse_bytes(two_specs, 7, true, &s, &err), FL_ESPEC);
  assert_non_null(strstr(err.msg, "x: unknown key"));
}

/* ---- caps -------------------------------------------------------------- */

/* A valid spec padded with spaces up to len bytes. */
static char *padded_spec(size_t len) {
  static const char base[] = "{" BASE "}";
  char *buf = malloc(len);
  assert_non_null(buf);
  size_t n = strlen(base);
  assert_true(len >= n);
  for (size_t i = 0; i < n; i++) buf[i] = base[i] == '\'' ? '"' : base[i];
  memset(buf + n, ' ', len - n);
  return buf;
}

static void size_cap(void **state) {
  (void)state;
  fl_job_spec s;
  fl_error err;
  char *at_cap = padded_spec(FL_SPEC_MAX_BYTES);
  assert_int_equal(fl_spec_parse(at_cap, FL_SPEC_MAX_BYTES, &s, &err), 0);
  fl_spec_free(&s);
  free(at_cap);

  char *over = padded_spec(FL_SPEC_MAX_BYTES + 1);
  assert_int_equal(fl_spec_parse(over, FL_SPEC_MAX_BYTES + 1, &s, &err),
                   FL_ETOOBIG);
  assert_non_null(strstr(err.msg, "spec: 1048577 bytes exceeds the limit"));
  free(over);
}

/* {'name': [[...]]} with `arrays` brackets: nesting depth arrays + 1. */
static int parse_nested(int arrays, fl_error *err) {
  size_t len = 16 + 2 * (size_t)arrays;
  char *json = malloc(len);
  assert_non_null(json);
  size_t at = (size_t)sprintf(json, "{\"name\":");
  for (int i = 0; i < arrays; i++) json[at++] = '[';
  for (int i = 0; i < arrays; i++) json[at++] = ']';
  json[at++] = '}';
  fl_job_spec s;
  memset(err, 0, sizeof *err);
  int rc = fl_spec_parse(json, at, &s, err);
  fl_spec_free(&s);
  free(json);
  return rc;
}

static void depth_cap(void **state) {
  (void)state;
  fl_error err;
  /* depth 16 gets past the cap and fails on meaning */
  assert_int_equal(parse_nested(FL_SPEC_MAX_DEPTH - 1, &err), FL_ESPEC);
  assert_non_null(strstr(err.msg, "name: expected a job name, got an array"));
  /* depth 17 is refused before cJSON allocates anything */
  assert_int_equal(parse_nested(FL_SPEC_MAX_DEPTH, &err), FL_ETOOBIG);
  assert_non_null(strstr(err.msg, "spec: nesting depth 17 near byte 23"));
  assert_non_null(strstr(err.msg, "limit of 16"));
  /* far deeper than cJSON's own limit: still a clean refusal */
  assert_int_equal(parse_nested(200000, &err), FL_ETOOBIG);
  /* brackets inside strings do not count */
  fl_job_spec s;
  parse_ok(SPEC("'name':'[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{{'"), &s);
  assert_string_equal(s.name, "[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{{");
  fl_spec_free(&s);
}

/* Limits on the sizes of lists and strings, at and past each limit. */
static void count_and_length_caps(void **state) {
  (void)state;
  enum { BIG = 200000 };
  char *json = malloc(BIG);
  assert_non_null(json);
  fl_job_spec s;
  fl_error err;

  /* 32 layers parse, 33 do not */
  for (int layers = FL_MAX_LAYERS; layers <= FL_MAX_LAYERS + 1; layers++) {
    size_t at = (size_t)sprintf(json, "{" DATA ",'model':{'layers':[");
    for (int i = 0; i < layers; i++) {
      at += (size_t)sprintf(json + at, "%s{'type':'dense','units':%d}",
                            i ? "," : "", i + 1);
    }
    sprintf(json + at, "]}," LOSS "}");
    int rc = parse(json, &s, &err);
    if (layers == FL_MAX_LAYERS) {
      assert_int_equal(rc, 0);
      assert_int_equal(s.n_layers, FL_MAX_LAYERS);
      assert_int_equal(s.layers[31].units, 32);
    } else {
      assert_int_equal(rc, FL_ESPEC);
      assert_non_null(strstr(err.msg,
                             "model.layers: expected an array of 1 "
                             "to 32 dense layer objects"));
      assert_non_null(strstr(err.msg, "got 33 dense layers"));
    }
    fl_spec_free(&s);
  }

  /* 4096 label columns parse, 4097 do not */
  for (int cols = FL_MAX_LABEL_COLUMNS; cols <= FL_MAX_LABEL_COLUMNS + 1;
       cols++) {
    size_t at = (size_t)sprintf(
        json, "{'data':{'train':{'csv':'t.csv','label_columns':[");
    for (int i = 0; i < cols; i++) {
      at += (size_t)sprintf(json + at, i % 2 ? "%s%d" : "%s'c%d'", i ? "," : "",
                            i);
    }
    sprintf(json + at, "]}}," MODEL "," LOSS "}");
    int rc = parse(json, &s, &err);
    if (cols == FL_MAX_LABEL_COLUMNS) {
      assert_int_equal(rc, 0);
      assert_int_equal(s.train.n_label_columns, cols);
      assert_string_equal(s.train.label_columns[4094].name, "c4094");
      assert_int_equal(s.train.label_columns[4095].index, 4095);
    } else {
      assert_int_equal(rc, FL_ESPEC);
      assert_non_null(strstr(err.msg,
                             "data.train.label_columns: expected at "
                             "most 4096"));
    }
    fl_spec_free(&s);
  }

  /* paths up to FL_PATH_MAX - 1 bytes, names up to FL_NAME_MAX - 1 */
  char text[FL_PATH_MAX + 1];
  for (size_t len = FL_PATH_MAX - 1; len <= FL_PATH_MAX; len++) {
    memset(text, 'p', len);
    text[len] = '\0';
    snprintf(json, BIG, WITH_TRAIN("{'features':'%s','labels':'y'}"), text);
    int rc = parse(json, &s, &err);
    if (len < FL_PATH_MAX) {
      assert_int_equal(rc, 0);
      assert_int_equal(strlen(s.train.features), len);
    } else {
      assert_int_equal(rc, FL_ESPEC);
      assert_non_null(strstr(err.msg,
                             "data.train.features: expected a file "
                             "path of at most 1023 bytes, got 1024"));
    }
    fl_spec_free(&s);
  }
  for (size_t len = FL_NAME_MAX - 1; len <= FL_NAME_MAX; len++) {
    memset(text, 'n', len);
    text[len] = '\0';
    snprintf(json, BIG, SPEC("'name':'%s'"), text);
    int rc = parse(json, &s, &err);
    assert_int_equal(rc, len < FL_NAME_MAX ? 0 : FL_ESPEC);
    fl_spec_free(&s);
  }

  /* a hostile unknown key is cut and escaped in the message */
  memset(text, 'k', 500);
  text[500] = '\0';
  snprintf(json, BIG, SPEC("'%s\\u0007':1"), text);
  assert_int_equal(parse(json, &s, &err), FL_ESPEC);
  assert_non_null(strstr(err.msg, "[\"kkkk"));
  assert_non_null(strstr(err.msg, "...\"]: unknown key"));
  assert_true(strlen(err.msg) < 400);
  free(json);
}

/* ---- cheap fuzz -------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng(void) { /* xorshift64*: seeded, so failures replay */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * UINT64_C(2685821657736338717);
}

static size_t rng_below(size_t n) { return n ? (size_t)(rng() % n) : 0; }

/* Mutate buf[0..len) in place (capacity cap); returns the new length. */
static size_t mutate(char *buf, size_t len, size_t cap) {
  static const char interesting[] = "{}[]\":,\\0123456789-+.eE \t\n";
  static const char *const tokens[] = {"1e400",
                                       "-1e400",
                                       "\\u0000",
                                       "\\ud800",
                                       "[",
                                       "{\"a\":",
                                       "-0",
                                       "null",
                                       "true",
                                       "\xff",
                                       "\xc3\xa9",
                                       "\xed\xa0\x80",
                                       "0.5",
                                       "65537",
                                       "\"\"",
                                       "{\"name\":\"constant\",\"value\":1e39}",
                                       "[[[[[[[[[[[[[[[[[["};
  size_t at = rng_below(len + 1);
  switch (rng_below(7)) {
    case 0: /* flip a bit */
      if (len) buf[rng_below(len)] ^= (char)(1u << rng_below(8));
      break;
    case 1: /* any byte */
      if (len) buf[rng_below(len)] = (char)rng_below(256);
      break;
    case 2: /* a JSON-ish byte */
      if (len)
        buf[rng_below(len)] = interesting[rng_below(sizeof interesting - 1)];
      break;
    case 3: { /* delete a span */
      size_t n = 1 + rng_below(8);
      if (at + n > len) n = len - at;
      memmove(buf + at, buf + at + n, len - at - n);
      len -= n;
      break;
    }
    case 4: { /* duplicate a span */
      size_t n = 1 + rng_below(16);
      if (at + n > len) n = len - at;
      if (len + n > cap) break;
      memmove(buf + at + n, buf + at, len - at);
      len += n;
      break;
    }
    case 5: /* truncate */
      len = at;
      break;
    default: { /* insert a token */
      const char *t = tokens[rng_below(sizeof tokens / sizeof tokens[0])];
      size_t n = strlen(t);
      if (len + n > cap) break;
      memmove(buf + at + n, buf + at, len - at);
      memcpy(buf + at, t, n);
      len += n;
      break;
    }
  }
  return len;
}

/* What every accepted spec must satisfy, whatever the input was. */
static void check_accepted(const fl_job_spec *s) {
  assert_true(s->name[0] != '\0' &&
              strnlen(s->name, FL_NAME_MAX) < FL_NAME_MAX);
  assert_true(s->train.kind != FL_SRC_NONE);
  assert_true(s->n_layers >= 1 && s->n_layers <= FL_MAX_LAYERS);
  for (int i = 0; i < s->n_layers; i++) {
    assert_true(s->layers[i].units >= 1 && s->layers[i].units <= FL_MAX_UNITS);
    assert_true(s->layers[i].activation != FL_ACT_SOFTMAX ||
                i == s->n_layers - 1);
  }
  if (s->train.kind == FL_SRC_CSV) {
    assert_true(s->train.n_label_columns >= 1);
    assert_non_null(s->train.label_columns);
  }
  assert_true(s->optimizer.learning_rate > 0.0f);
  assert_true(s->epochs >= 1 && s->batch_size >= 1);
  assert_true(s->validation_split >= 0.0f && s->validation_split < 1.0f);
  assert_true(strnlen(s->device, FL_NAME_MAX) < FL_NAME_MAX);
}

static void random_mutations_never_crash(void **state) {
  (void)state;
  enum { ITERATIONS = 20000, CAP = 4096 };
  const char *bases[] = {design_example, kitchen_sink};
  char work[CAP];
  int accepted = 0, rejected = 0;
  rng_state = UINT64_C(0x5eed5eed12345678);
  for (int iter = 0; iter < ITERATIONS; iter++) {
    const char *base = bases[iter % 2];
    size_t len = strlen(base);
    for (size_t i = 0; i < len; i++) work[i] = base[i] == '\'' ? '"' : base[i];
    int rounds = 1 + (int)rng_below(4);
    for (int r = 0; r < rounds; r++) len = mutate(work, len, CAP);

    fl_job_spec s;
    fl_error err;
    int rc = parse_bytes(work, len, false, &s, &err);
    if (rc == 0) {
      accepted++;
      check_accepted(&s);
    } else {
      rejected++;
      if (!(rc == FL_ESPEC || rc == FL_EPARSE || rc == FL_ETOOBIG) ||
          err.code != rc || err.msg[0] == '\0' || !strchr(err.msg, ':')) {
        fail_msg("iteration %d: rc %d, message \"%s\"", iter, rc, err.msg);
      }
      assert_null(s.train.label_columns);
    }
    fl_spec_free(&s);
  }
  /* both outcomes happen, or the mutations tested nothing */
  print_message("fuzz: %d accepted, %d rejected\n", accepted, rejected);
  assert_true(accepted > 100);
  assert_true(rejected > 100);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(design_example_parses),
      cmocka_unit_test(design_example_verbatim_parses),
      cmocka_unit_test(defaults_are_applied),
      cmocka_unit_test(regularization_forms),
      cmocka_unit_test(batch_normalization_forms),
      cmocka_unit_test(kitchen_sink_parses),
      cmocka_unit_test(source_forms),
      cmocka_unit_test(loss_forms),
      cmocka_unit_test(optimizer_forms),
      cmocka_unit_test(initializer_forms),
      cmocka_unit_test(device_forms),
      cmocka_unit_test(utf8_text_is_kept),
      cmocka_unit_test(names_round_trip),
      cmocka_unit_test(wrong_specs_are_rejected_with_their_key_path),
      cmocka_unit_test(messages_read_as_documented),
      cmocka_unit_test(parse_errors_locate_the_byte),
      cmocka_unit_test(rejected_spec_frees_what_it_allocated),
      cmocka_unit_test(bad_arguments),
      cmocka_unit_test(size_cap),
      cmocka_unit_test(depth_cap),
      cmocka_unit_test(count_and_length_caps),
      cmocka_unit_test(random_mutations_never_crash),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
