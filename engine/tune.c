/* engine/tune.c — owns GEMM tuning: the search that times the candidate
 * ways of running the trainer's GEMMs on a device (CLBlast with its own
 * parameters, forced direct or indirect, a few parameter sets for its
 * Xgemm and XgemmDirect kernels; flatline's tiled kernels on CPU devices),
 * the choice, applying it (fl__gemm_plan + CLBlastOverrideParameters), the
 * cache key. The JSON form of a result is in tune_json.c.
 *
 * Costs are seconds per training row: a call's median time divided by the
 * batch size of its shape, summed over the shapes. An epoch over N rows
 * makes N/B calls of each of its shapes, so this weighs a batch-32 shape as
 * much as the epoch does, where plain call times would let the batch-512
 * shapes decide alone. */
#include <clblast_c.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_internal.h"
#include "reference.h"
#include "tune_internal.h"


/* A candidate other than what the device runs now must beat it by this
 * much: timings on a busy machine wander by a few percent, and a plan that
 * flips between runs would change results in their last bits for nothing. */
#define SWITCH_MARGIN 0.10
/* CLBlast overrides must beat CLBlast's own parameters by this much. */
#define OVERRIDE_MARGIN 0.05
/* Above every shape we time (512 * 512 * 784 < 1024^3): "always direct". */
#define DIRECT_ALWAYS 1024

/* ---- CLBlast's parameter sets ----------------------------------------------
 * Names as CLBlast 1.5 lists them in its database (all of a kernel's names
 * must be given to CLBlastOverrideParameters). */
static const char *const xgemm_names[] = {
    "GEMMK", "KREG", "KWG", "KWI", "MDIMA", "MDIMC", "MWG", "NDIMB",
    "NDIMC", "NWG", "SA", "SB", "STRM", "STRN", "VWM", "VWN"};
static const char *const direct_names[] = {
    "KWID", "MDIMAD", "MDIMCD", "NDIMBD", "NDIMCD", "PADA", "PADB", "VWMD",
    "VWND", "WGD"};
static const char *const routine_names[] = {"XGEMM_MIN_INDIRECT_SIZE"};

const fl__param_schema fl__tune_schemas[FL__SCHEMA_COUNT] = {
    {"GemmRoutine", 1, routine_names},
    {"Xgemm", 16, xgemm_names},
    {"XgemmDirect", 10, direct_names},
};

/* A few sets in the range CLBlast's own tuner searches (its "variation 1"
 * sets: GEMMK 0, KREG 1; work-groups of 64 or 256), each valid under the
 * tuner's constraints (checked by fl__tune_params_valid against the device's
 * limits before use). Values in the order of the names above. */
typedef struct {
  const char *name, *detail;
  bool quick; /* also tried in quick mode (non-CPU devices) */
  size_t v[16];
} param_set;

static const param_set xgemm_sets[] = {
    /* GEMMK KREG KWG KWI MDIMA MDIMC MWG NDIMB NDIMC NWG SA SB STRM STRN VWM VWN */
    {"ind32", "Xgemm 32x32 tile, 8x8 items, vw 2", true,
     {0, 1, 16, 2, 8, 8, 32, 8, 8, 32, 0, 0, 0, 0, 2, 2}},
    {"ind64L", "Xgemm 64x64 tile, 16x16 items, vw 4, local A/B", true,
     {0, 1, 16, 2, 16, 16, 64, 16, 16, 64, 1, 1, 0, 0, 4, 4}},
    {"ind64", "Xgemm 64x64 tile, 8x8 items, vw 4", false,
     {0, 1, 32, 2, 8, 8, 64, 8, 8, 64, 0, 0, 0, 0, 4, 4}},
    {"ind16L", "Xgemm 16x16 tile, 8x8 items, vw 2, local A/B", false,
     {0, 1, 16, 2, 8, 8, 16, 8, 8, 16, 1, 1, 0, 0, 2, 2}},
};
static const param_set direct_sets[] = {
    /* KWID MDIMAD MDIMCD NDIMBD NDIMCD PADA PADB VWMD VWND WGD */
    {"dir16", "XgemmDirect 16x16 tile, 8x8 items, vw 2", true,
     {2, 8, 8, 8, 8, 1, 1, 2, 2, 16}},
    {"dir32", "XgemmDirect 32x32 tile, 8x8 items, vw 4", true,
     {2, 8, 8, 8, 8, 1, 1, 4, 4, 32}},
    {"dir8", "XgemmDirect 8x8 tile, 8x8 items", false,
     {1, 8, 8, 8, 8, 1, 1, 1, 1, 8}},
    {"dir32W", "XgemmDirect 32x32 tile, 16x16 items, vw 2", false,
     {2, 16, 16, 16, 16, 1, 1, 2, 2, 32}},
};
#define N_XGEMM_SETS (sizeof xgemm_sets / sizeof xgemm_sets[0])
#define N_DIRECT_SETS (sizeof direct_sets / sizeof direct_sets[0])

void fl__tune_query_limits(fl_device *dev, fl__tune_limits *lim) {
  memset(lim, 0, sizeof *lim);
  clGetDeviceInfo(dev->id, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof lim->max_wg,
                  &lim->max_wg, NULL);
  clGetDeviceInfo(dev->id, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof lim->max_item,
                  lim->max_item, NULL);
  clGetDeviceInfo(dev->id, CL_DEVICE_LOCAL_MEM_SIZE, sizeof lim->local_mem,
                  &lim->local_mem, NULL);
}

static size_t param_of(const fl_tune_params *p, const char *name) {
  for (int i = 0; i < p->n; i++)
    if (strcmp(p->name[i], name) == 0) return p->value[i];
  return 0;
}

static bool multiple(size_t a, size_t b) { return b != 0 && a % b == 0; }

/* CLBlast's tuner constraints for its kernels (src/tuning/kernels/xgemm.hpp
 * and xgemm_direct.hpp, kernel 0 / variation 1), plus what any OpenCL 1.2
 * device must allow: the work-group within its size limits, the tiles
 * within its local memory. why says which rule failed. */
bool fl__tune_params_valid(const fl_tune_params *p, const fl__tune_limits *lim,
                           char *why, size_t why_size) {
#define RULE(ok, ...)                          \
  do {                                         \
    if (!(ok)) {                               \
      snprintf(why, why_size, __VA_ARGS__);    \
      return false;                            \
    }                                          \
  } while (0)
  for (int i = 0; i < p->n; i++)
    RULE(p->value[i] <= 65536, "%s = %zu is out of range", p->name[i],
         p->value[i]);
  if (strcmp(p->kernel, "GemmRoutine") == 0) {
    RULE(param_of(p, "XGEMM_MIN_INDIRECT_SIZE") >= 1,
         "XGEMM_MIN_INDIRECT_SIZE must be at least 1");
    return true;
  }
  bool direct = strcmp(p->kernel, "XgemmDirect") == 0;
  size_t mdimc = param_of(p, direct ? "MDIMCD" : "MDIMC");
  size_t ndimc = param_of(p, direct ? "NDIMCD" : "NDIMC");
  size_t mdima = param_of(p, direct ? "MDIMAD" : "MDIMA");
  size_t ndimb = param_of(p, direct ? "NDIMBD" : "NDIMB");
  size_t vwm = param_of(p, direct ? "VWMD" : "VWM");
  size_t vwn = param_of(p, direct ? "VWND" : "VWN");
  size_t kwi = param_of(p, direct ? "KWID" : "KWI");
  size_t mwg = param_of(p, direct ? "WGD" : "MWG");
  size_t nwg = param_of(p, direct ? "WGD" : "NWG");
  size_t kwg = param_of(p, direct ? "WGD" : "KWG");
  RULE(mdimc && ndimc && mdima && ndimb && vwm && vwn && kwi && mwg && nwg &&
           kwg, "a size parameter is 0");
  RULE(vwm <= 16 && vwn <= 16 && !(vwm & (vwm - 1)) && !(vwn & (vwn - 1)),
       "vector widths must be 1, 2, 4, 8 or 16");
  RULE(multiple(kwg, kwi), "the k tile must be a multiple of its unroll");
  RULE(multiple(mwg, mdimc * vwm) && multiple(nwg, ndimc * vwn),
       "the tile must be a multiple of work-items x vector width");
  RULE(multiple(mwg, mdima * vwm) && multiple(nwg, ndimb * vwn),
       "the tile must be a multiple of the loading work-items x vector width");
  RULE(multiple(kwg, mdimc * ndimc / mdima) &&
           multiple(kwg, mdimc * ndimc / ndimb),
       "the k tile must be a multiple of the loading shape");
  size_t local_floats;
  if (direct) {
    RULE(param_of(p, "PADA") <= 1 && param_of(p, "PADB") <= 1,
         "PADA and PADB are 0 or 1");
    local_floats = mwg * (mwg + param_of(p, "PADA")) +
                   mwg * (mwg + param_of(p, "PADB"));
  } else {
    RULE(param_of(p, "GEMMK") == 0 && param_of(p, "KREG") == 1,
         "only CLBlast's kernel 0 (GEMMK 0, KREG 1) is used");
    RULE(param_of(p, "SA") <= 1 && param_of(p, "SB") <= 1 &&
             param_of(p, "STRM") <= 1 && param_of(p, "STRN") <= 1,
         "SA, SB, STRM and STRN are 0 or 1");
    local_floats = param_of(p, "SA") * kwg * mwg + param_of(p, "SB") * kwg * nwg;
  }
  RULE(mdimc * ndimc <= lim->max_wg && mdimc <= lim->max_item[0] &&
           ndimc <= lim->max_item[1],
       "work-group %zux%zu exceeds the device's limit (%zu items)", mdimc,
       ndimc, lim->max_wg);
  RULE(local_floats * sizeof(float) <= lim->local_mem,
       "needs %zu bytes of local memory, the device has %lu",
       local_floats * sizeof(float), (unsigned long)lim->local_mem);
  return true;
#undef RULE
}

void fl__tune_params_from_set(fl_tune_params *p, int schema, const size_t *v) {
  memset(p, 0, sizeof *p);
  const fl__param_schema *s = &fl__tune_schemas[schema];
  snprintf(p->kernel, sizeof p->kernel, "%s", s->kernel);
  p->n = s->n;
  for (int i = 0; i < s->n; i++) {
    snprintf(p->name[i], sizeof p->name[i], "%s", s->names[i]);
    p->value[i] = v[i];
  }
}

static void params_routine(fl_tune_params *p, size_t min_indirect) {
  fl__tune_params_from_set(p, FL__SCHEMA_ROUTINE, &min_indirect);
}

static int override(fl_device *dev, const fl_tune_params *p, fl_error *err) {
  const char *names[FL_TUNE_MAX_PARAMS];
  for (int i = 0; i < p->n; i++) names[i] = p->name[i];
  CLBlastStatusCode s = CLBlastOverrideParameters(
      dev->id, p->kernel, CLBlastPrecisionSingle, (size_t)p->n, names, p->value);
  if (s != CLBlastSuccess)
    return fl_error_set(err, FL_EBLAS, "CLBlast refused the %s parameters "
                        "(status %d)", p->kernel, (int)s);
  return 0;
}

/* ---- identity and key ------------------------------------------------------ */

static uint64_t fnv1a(uint64_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

static uint64_t fnv1a_str(uint64_t h, const char *s) {
  return fnv1a(h, s, strlen(s) + 1); /* the NUL separates fields */
}

typedef struct {
  char driver[128], platform[256], device_version[256];
} cl_identity;

static void query_identity(fl_device *dev, cl_identity *id) {
  memset(id, 0, sizeof *id);
  clGetDeviceInfo(dev->id, CL_DRIVER_VERSION, sizeof id->driver - 1,
                  id->driver, NULL);
  clGetDeviceInfo(dev->id, CL_DEVICE_VERSION, sizeof id->device_version - 1,
                  id->device_version, NULL);
  clGetPlatformInfo(dev->platform, CL_PLATFORM_VERSION,
                    sizeof id->platform - 1, id->platform, NULL);
}

void fl_tune_key(fl_device *dev, char *out, size_t size) {
  cl_identity id;
  query_identity(dev, &id);
  char clblast[32];
  snprintf(clblast, sizeof clblast, "%d.%d.%d", CLBLAST_VERSION_MAJOR,
           CLBLAST_VERSION_MINOR, CLBLAST_VERSION_PATCH);
  uint64_t h = 14695981039346656037ull;
  h = fnv1a_str(h, FL__TUNE_FORMAT);
  h = fnv1a(h, &(int){FL__TUNE_VERSION}, sizeof(int));
  h = fnv1a_str(h, dev->info.name);
  h = fnv1a_str(h, dev->info.vendor);
  h = fnv1a_str(h, dev->info.platform);
  h = fnv1a_str(h, id.driver);
  h = fnv1a_str(h, id.platform);
  h = fnv1a_str(h, id.device_version);
  h = fnv1a_str(h, clblast);
  h = fnv1a(h, fl__kernel_source, fl__kernel_source_len);
  /* A readable prefix for people listing the folder; the hash decides. */
  char slug[41];
  size_t n = 0;
  bool dash = false;
  for (const char *c = dev->info.name; *c && n < sizeof slug - 1; c++) {
    char ch = *c;
    if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
      slug[n++] = ch;
      dash = false;
    } else if (ch >= 'A' && ch <= 'Z') {
      slug[n++] = (char)(ch - 'A' + 'a');
      dash = false;
    } else if (!dash && n > 0) {
      slug[n++] = '-';
      dash = true;
    }
  }
  while (n > 0 && slug[n - 1] == '-') n--;
  slug[n] = '\0';
  snprintf(out, size, "%s-%016llx", n ? slug : "device", (unsigned long long)h);
}

/* ---- the untuned plan -------------------------------------------------------
 * Tiled kernels on CPUs, where they run several times faster than untuned
 * CLBlast (bench/README.md), CLBlast on GPUs, where work-groups of one item
 * would waste the device. The tile follows the native float vector width
 * POCL reports: 8 on AVX2 (6x16, the float8 tile), 16 on AVX-512, where
 * the float16 tiles ran NN 1.47x and TN 1.67x faster than 6x16 on the
 * large shapes of the benchmark jobs (Xeon Skylake-SP, kernels/gemm_tiled.cl).
 * There the packed-A forms of those tiles (8x32p, 12x32p: A copied into
 * panels first, on GEMMs large enough to pack B) ran at batch 512: TN
 * 12x32p 1.16-1.30x 12x32's rate; 8x32p 0.96-1.06x 8x32's on NN and
 * 1.05-1.11x on the input gradient (NT, run as NN); and they are the same
 * kernels as 8x32 / 12x32 on smaller GEMMs (bench/README.md,
 * `fl_gemm_rate --variants`). 12x32p is faster still on large NN, but on
 * small NN its 12x32 loses to 8x32: the tuner may pick it.
 * A tuning result replaces it with measured choices. */
#define VARIANT_AVX512_NN 6 /* 8x32p */
#define VARIANT_AVX512_TN 7 /* 12x32p */

fl__gemm_plan fl__gemm_untuned(const fl_device *dev) {
  fl__gemm_plan p = {dev->info.is_cpu ? FL__GEMM_TILED : FL__GEMM_CLBLAST, 0, 0};
  cl_uint width = 0;
  if (dev->info.is_cpu &&
      clGetDeviceInfo(dev->id, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof width,
                      &width, NULL) == CL_SUCCESS &&
      width >= 16) {
    p.nn = VARIANT_AVX512_NN;
    p.tn = VARIANT_AVX512_TN;
  }
  return p;
}

/* ---- names ----------------------------------------------------------------- */

static const char *const variant_names[FL__GEMM_NVARIANTS] = {
#define FL__VARIANT_NAME(name, r, c, plain) name,
    FL_GEMM_VARIANTS(FL__VARIANT_NAME)
#undef FL__VARIANT_NAME
};

const char *fl_tune_variant_name(int v) {
  return v >= 0 && v < FL__GEMM_NVARIANTS ? variant_names[v] : NULL;
}

static const char *const form_names[] = {"NN", "TN", "NT"};

void fl_tune_shape_label(const fl_tune_shape *s, char *out, size_t size) {
  snprintf(out, size, "%s %zux%zux%zu", form_names[s->form], s->m, s->n, s->k);
}

void fl_tune_describe(const fl_tune_result *r, char *out, size_t size) {
  size_t at = 0;
#define PUT(...)                                                         \
  do {                                                                   \
    if (at < size) at += (size_t)snprintf(out + at, size - at, __VA_ARGS__); \
  } while (0)
  if (r->tiled)
    PUT("tiled kernels (NN %s, TN %s)", fl_tune_variant_name(r->nn),
        fl_tune_variant_name(r->tn));
  else
    PUT("CLBlast");
  if (r->n_clblast == 0) PUT("; CLBlast's own parameters");
  for (int i = 0; i < r->n_clblast; i++) {
    const fl_tune_params *p = &r->clblast[i];
    if (strcmp(p->kernel, "GemmRoutine") == 0)
      PUT("; CLBlast direct below %zu^3", p->value[0]);
    else
      PUT("; %s %s %zu", p->kernel, strcmp(p->kernel, "Xgemm") == 0 ? "MWG" : "WGD",
          param_of(p, strcmp(p->kernel, "Xgemm") == 0 ? "MWG" : "WGD"));
  }
#undef PUT
}

/* ---- shapes ------------------------------------------------------------------
 * The dense layers of the jobs flatline is used for: Fashion-MNIST-like
 * 784-256-10 and 784-512-256-10 at batch 32, 128, 512, and iris-like
 * 4-16-3 at batch 32. Quick mode: 784-256-10 at 128 and 4-16-3 at 32. */

typedef struct {
  size_t in, out;
  bool first; /* the first layer has no input gradient (no NT) */
} layer_shape;

static void add_shape(fl_tune_result *r, fl_tune_form form, size_t m, size_t n,
                      size_t k, size_t batch) {
  for (int i = 0; i < r->n_shapes; i++) {
    const fl_tune_shape *s = &r->shapes[i];
    if (s->form == form && s->m == m && s->n == n && s->k == k) return;
  }
  if (r->n_shapes < FL_TUNE_MAX_SHAPES)
    r->shapes[r->n_shapes++] = (fl_tune_shape){form, m, n, k, batch};
}

static void add_layers(fl_tune_result *r, const layer_shape *l, int n,
                       size_t batch) {
  for (int i = 0; i < n; i++) {
    add_shape(r, FL_TUNE_NN, batch, l[i].out, l[i].in, batch);
    add_shape(r, FL_TUNE_TN, l[i].in, l[i].out, batch, batch);
    if (!l[i].first) add_shape(r, FL_TUNE_NT, batch, l[i].in, l[i].out, batch);
  }
}

static void pick_shapes(fl_tune_result *r, bool quick) {
  static const layer_shape mlp1[] = {{784, 256, true}, {256, 10, false}};
  static const layer_shape mlp2[] = {
      {784, 512, true}, {512, 256, false}, {256, 10, false}};
  static const layer_shape iris[] = {{4, 16, true}, {16, 3, false}};
  static const size_t batches[] = {32, 128, 512};
  r->n_shapes = 0;
  if (quick) {
    add_layers(r, mlp1, 2, 128);
  } else {
    for (size_t b = 0; b < 3; b++) {
      add_layers(r, mlp1, 2, batches[b]);
      add_layers(r, mlp2, 3, batches[b]);
    }
  }
  add_layers(r, iris, 2, 32);
}

/* ---- candidates ------------------------------------------------------------ */


static bool runs_form(const fl__tune_cand *c, fl_tune_form f) {
  if (c->kind == FL__CAND_TILED) return f != FL_TUNE_NT;
  if (c->kind == FL__CAND_TILED_NT) return f == FL_TUNE_NT;
  return true;
}

static int list_candidates(fl_device *dev, bool quick, fl_tune_result *r,
                           fl__tune_cand *specs) {
  fl__tune_limits lim;
  fl__tune_query_limits(dev, &lim);
  int n = 0;
#define ADD(spec, nm, ...)                                                  \
  do {                                                                      \
    specs[n] = spec;                                                        \
    memset(&r->cand[n], 0, sizeof r->cand[n]);                              \
    snprintf(r->cand[n].name, sizeof r->cand[n].name, "%s", nm);            \
    snprintf(r->cand[n].detail, sizeof r->cand[n].detail, __VA_ARGS__);     \
    n++;                                                                    \
  } while (0)
  /* The tiled kernels first: they are the yardstick that lets slow
   * candidates stop early (time_group). They use work-groups of one item:
   * a CPU's way, a GPU's waste. */
  if (dev->info.is_cpu) {
    for (int v = 0; v < FL__GEMM_NVARIANTS; v++) {
      char name[24];
      snprintf(name, sizeof name, "t%s", variant_names[v]);
      ADD(((fl__tune_cand){.kind = FL__CAND_TILED, .variant = v}), name,
          "flatline's tiled NN/TN kernels, a %s tile per work-item",
          variant_names[v]);
    }
    ADD(((fl__tune_cand){.kind = FL__CAND_TILED_NT}), "t-nt",
        "flatline's NT kernel (%dx%d dot products)", FL__GEMM_NT_TILE,
        FL__GEMM_NT_TILE);
  }
  /* CLBlast's own parameters before any override: once anything is
   * overridden in this process they cannot be measured again. On a CPU,
   * CLBlast's work-group kernels run far below the tiled ones
   * (bench/README.md) and POCL spends ~10 s compiling each parameter set,
   * so the quick search leaves CLBlast out there. */
  if (quick && dev->info.is_cpu) return n;
  ADD(((fl__tune_cand){.kind = FL__CAND_CLBLAST, .mode = FL__CL_OWN, .set = -1}),
      "clblast", "CLBlast, its own parameters and direct/indirect switch");
  ADD(((fl__tune_cand){.kind = FL__CAND_CLBLAST, .mode = FL__CL_DIRECT, .set = -1}),
      "cl-dir", "CLBlast forced direct (XgemmDirect, its own parameters)");
  ADD(((fl__tune_cand){.kind = FL__CAND_CLBLAST, .mode = FL__CL_INDIRECT, .set = -1}),
      "cl-ind", "CLBlast forced indirect (Xgemm, its own parameters)");
  /* Our parameter sets: XgemmDirect's, then Xgemm's. */
  static const struct {
    const param_set *sets;
    size_t n;
    int schema;
    fl__cl_mode mode;
    const char *what;
  } families[] = {
      {direct_sets, N_DIRECT_SETS, FL__SCHEMA_DIRECT, FL__CL_DIRECT, "direct"},
      {xgemm_sets, N_XGEMM_SETS, FL__SCHEMA_XGEMM, FL__CL_INDIRECT, "indirect"},
  };
  char why[160];
  for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
    for (size_t i = 0; i < families[f].n; i++) {
      const param_set *ps = &families[f].sets[i];
      if (quick && !ps->quick) continue;
      fl__tune_cand c = {.kind = FL__CAND_CLBLAST, .mode = families[f].mode, .set = (int)i};
      fl__tune_params_from_set(&c.params, families[f].schema, ps->v);
      if (fl__tune_params_valid(&c.params, &lim, why, sizeof why))
        ADD(c, ps->name, "CLBlast forced %s, %s", families[f].what, ps->detail);
    }
  }
#undef ADD
  return n;
}

/* ---- timing ---------------------------------------------------------------- */

typedef struct {
  fl_device *dev;
  const fl_tune_options *opt;
  bool quick;
  cl_mem a, b, c;
  cl_mem bias, out; /* for the epilogues the trainer fuses */
} bench;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void progress(const bench *bn, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void progress(const bench *bn, const char *fmt, ...) {
  if (!bn->opt || !bn->opt->progress) return;
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  bn->opt->progress(bn->opt->ctx, line);
}

static bool stopped(const bench *bn) {
  return bn->opt && bn->opt->stop && bn->opt->stop(bn->opt->ctx);
}

static fl__gemm_plan plan_of(const fl__tune_cand *c) {
  if (c->kind == FL__CAND_CLBLAST) return (fl__gemm_plan){FL__GEMM_CLBLAST, 0, 0};
  return (fl__gemm_plan){FL__GEMM_TILED, c->variant, c->variant};
}

/* C (m, n) = A B with the form's storage: NN A (m, k), B (k, n); TN A
 * stored (k, m); NT B stored (n, k). Leading dimensions are the natural
 * ones, as in the trainer. */
static int run_gemm(bench *bn, const fl__gemm_plan *plan, fl_tune_form f,
                    size_t m, size_t n, size_t k, cl_mem a, size_t a_off,
                    size_t lda, cl_mem b, size_t b_off, size_t ldb, cl_mem c,
                    size_t c_off, size_t ldc, fl_error *err) {
  return fl__op_gemm_with(bn->dev, plan, f == FL_TUNE_TN, f == FL_TUNE_NT, m, n,
                          k, 1.0f, a, a_off, lda, b, b_off, ldb, 0.0f, c, c_off,
                          ldc, err);
}

/* A shape as the trainer runs it: the forward NN with its bias and ReLU,
 * the NT with the ReLU derivative (fused into the tiled kernels, separate
 * kernels after CLBlast: timing the GEMM alone would flatter CLBlast). */
static int run_shape(bench *bn, const fl__gemm_plan *plan,
                     const fl_tune_shape *s, fl_error *err) {
  size_t lda = s->form == FL_TUNE_TN ? s->m : s->k;
  size_t ldb = s->form == FL_TUNE_NT ? s->k : s->n;
  fl__gemm_fused ep = {FL__EP_NONE, FL_ACT_RELU, bn->bias, 0, bn->out, NULL, 0};
  if (s->form == FL_TUNE_NN) ep.kind = FL__EP_BIAS_ACT;
  if (s->form == FL_TUNE_NT) ep.kind = FL__EP_ACT_GRAD;
  return fl__op_gemm_ep_with(bn->dev, plan, s->form == FL_TUNE_TN,
                             s->form == FL_TUNE_NT, s->m, s->n, s->k, 1.0f,
                             bn->a, 0, lda, bn->b, 0, ldb, 0.0f, bn->c, 0, s->n,
                             &ep, err);
}

/* Whether the candidate computes the right thing, on a small odd shape per
 * form with offsets and padded rows (edges of every tile size we use):
 * a parameter set a driver miscompiles must not win on speed. */
static int validate(bench *bn, const fl__tune_cand *cs, fl_tune_form f,
                    fl_error *err) {
  const size_t m = 33, n = 19, k = 70, pad = 3, a_off = 5, b_off = 7, c_off = 2;
  size_t lda = (f == FL_TUNE_TN ? m : k) + pad;
  size_t ldb = (f == FL_TUNE_NT ? k : n) + pad, ldc = n + pad;
  size_t na = a_off + (f == FL_TUNE_TN ? k : m) * lda;
  size_t nb = b_off + (f == FL_TUNE_NT ? n : k) * ldb, nc = c_off + m * ldc;
  float *a = malloc(na * 4), *b = malloc(nb * 4), *c = malloc(nc * 4),
        *want = malloc(nc * 4);
  cl_mem da = NULL, db = NULL, dc = NULL;
  int rc = 0;
  if (!a || !b || !c || !want) {
    rc = fl_error_set(err, FL_ENOMEM, "out of memory");
    goto out;
  }
  fl__rng rng;
  fl__rng_seed(&rng, 7 + (uint64_t)f);
  for (size_t i = 0; i < na; i++) a[i] = (float)(2 * fl__rng_uniform(&rng) - 1);
  for (size_t i = 0; i < nb; i++) b[i] = (float)(2 * fl__rng_uniform(&rng) - 1);
  for (size_t i = 0; i < nc; i++) c[i] = want[i] = 0.0f;
  fl__ref_gemm(f == FL_TUNE_TN, f == FL_TUNE_NT, m, n, k, 1.0f, a + a_off, lda,
               b + b_off, ldb, 0.0f, want + c_off, ldc);
  fl__gemm_plan plan = plan_of(cs);
  if ((rc = fl__buffer_create(bn->dev, na * 4, a, &da, err)) ||
      (rc = fl__buffer_create(bn->dev, nb * 4, b, &db, err)) ||
      (rc = fl__buffer_create(bn->dev, nc * 4, c, &dc, err)) ||
      (rc = run_gemm(bn, &plan, f, m, n, k, da, a_off, lda, db, b_off, ldb, dc,
                     c_off, ldc, err)) ||
      (rc = fl__buffer_read(bn->dev, dc, 0, nc * 4, c, err)))
    goto out;
  for (size_t i = 0; i < nc; i++) {
    /* Float sums of 70 products in another order: test_kernels' GEMM
     * tolerance. */
    double tol = 1e-4 + 1e-3 * fabs(want[i]);
    if (!(fabs((double)c[i] - want[i]) <= tol)) {
      rc = fl_error_set(err, FL_EBLAS, "wrong result on %s %zux%zux%zu "
                        "(element %zu: %g, expected %g)", form_names[f], m, n,
                        k, i, c[i], want[i]);
      break;
    }
  }
out:
  fl__buffer_release(&da);
  fl__buffer_release(&db);
  fl__buffer_release(&dc);
  free(a), free(b), free(c), free(want);
  return rc;
}

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

#define GROUP_MAX FL__GEMM_NVARIANTS
#define REPS_MAX 7

/* Median seconds per call of one shape for each of np plans. The first
 * call may compile (POCL specialises a kernel per launch shape) and is not
 * counted; then `inner` calls are queued back to back between clFinish, as
 * the trainer queues them, so that small shapes are not timed as one sync
 * each. The plans take turns rep by rep, so that load from elsewhere on
 * the machine falls on all of them alike. A lone plan already 4x slower
 * than the best one so far (`best`, 0: none) stops repeating: it cannot
 * win, and its one figure says so. */
static int time_group(bench *bn, const fl__gemm_plan *plans, int np,
                      const fl_tune_shape *s, double best, double *out,
                      fl_error *err) {
  int rc, inner[GROUP_MAX];
  double t[GROUP_MAX][REPS_MAX];
  double target = bn->quick ? 0.002 : 0.005;
  for (int p = 0; p < np; p++) {
    if ((rc = run_shape(bn, &plans[p], s, err))) return rc;
    FL_CL_CHECK(err, clFinish(bn->dev->queue));
    double t0 = now_s();
    if ((rc = run_shape(bn, &plans[p], s, err))) return rc;
    FL_CL_CHECK(err, clFinish(bn->dev->queue));
    double one = now_s() - t0;
    inner[p] = one >= target ? 1 : (int)fmin(64.0, ceil(target / fmax(one, 1e-7)));
  }
  int reps = np > 1 ? (bn->quick ? 5 : REPS_MAX) : (bn->quick ? 3 : 5);
  int done = 0;
  for (; done < reps; done++) {
    for (int q = 0; q < np; q++) {
      int p = (q + done) % np;
      double start = now_s();
      for (int i = 0; i < inner[p]; i++)
        if ((rc = run_shape(bn, &plans[p], s, err))) return rc;
      FL_CL_CHECK(err, clFinish(bn->dev->queue));
      t[p][done] = (now_s() - start) / inner[p];
    }
    if (done == 0 && np == 1 && best > 0 && t[0][0] > 4 * best) {
      done = 1;
      break;
    }
  }
  for (int p = 0; p < np; p++) {
    qsort(t[p], (size_t)done, sizeof t[p][0], cmp_double);
    out[p] = t[p][done / 2];
  }
  return 0;
}

/* Make CLBlast run as candidate c says (overrides are process-wide). */
static int prepare_clblast(fl_device *dev, const fl__tune_cand *c, fl_error *err) {
  if (c->mode == FL__CL_OWN) return 0;
  fl_tune_params routine;
  params_routine(&routine, c->mode == FL__CL_DIRECT ? DIRECT_ALWAYS : 1);
  int rc = override(dev, &routine, err);
  if (!rc && c->set >= 0) rc = override(dev, &c->params, err);
  return rc;
}

/* Time candidates first .. first + n - 1 together (the tiled variants:
 * they only differ in speed, and are compared shape by shape) or one
 * alone. A candidate that fails is out of the running, not the search's
 * end: a parameter set a driver cannot build is the tuner's business. */
static int measure(bench *bn, const fl__tune_cand *specs, int first, int n,
                   fl_tune_result *r) {
  fl_error err = {0};
  double t0 = now_s();
  int members[GROUP_MAX], np = 0;
  for (int c = first; c < first + n; c++) {
    fl_tune_candidate *cand = &r->cand[c];
    progress(bn, "tune: [%d/%d] %s: %s", c + 1, r->n_candidates, cand->name,
             cand->detail);
    int rc = 0;
    if (specs[c].kind == FL__CAND_CLBLAST) rc = prepare_clblast(bn->dev, &specs[c], &err);
    for (int f = FL_TUNE_NN; !rc && f <= FL_TUNE_NT; f++)
      if (runs_form(&specs[c], (fl_tune_form)f))
        rc = validate(bn, &specs[c], (fl_tune_form)f, &err);
    if (rc) {
      clFinish(bn->dev->queue);
      cand->failed = true;
      snprintf(cand->error, sizeof cand->error, "%s", err.msg);
      progress(bn, "tune:   %s failed: %s", cand->name, err.msg);
    } else {
      members[np++] = c;
    }
  }
  fl__gemm_plan plans[GROUP_MAX];
  for (int p = 0; p < np; p++) plans[p] = plan_of(&specs[members[p]]);
  for (int i = 0; np > 0 && i < r->n_shapes; i++) {
    if (!runs_form(&specs[members[0]], r->shapes[i].form)) continue;
    if (stopped(bn)) return FL_ECANCELED;
    double best = 0, got[GROUP_MAX];
    for (int j = 0; j < first; j++) {
      double tj = r->cand[j].failed ? 0 : r->cand[j].seconds[i];
      if (tj > 0 && (best == 0 || tj < best)) best = tj;
    }
    if (time_group(bn, plans, np, &r->shapes[i], best, got, &err)) {
      clFinish(bn->dev->queue);
      for (int p = 0; p < np; p++) {
        r->cand[members[p]].failed = true;
        snprintf(r->cand[members[p]].error, sizeof r->cand[0].error, "%s", err.msg);
      }
      progress(bn, "tune:   failed: %s", err.msg);
      return 0;
    }
    for (int p = 0; p < np; p++) r->cand[members[p]].seconds[i] = got[p];
  }
  progress(bn, "tune:   done in %.1f s", now_s() - t0);
  return 0;
}

/* ---- the choice ------------------------------------------------------------ */

/* Seconds per training row of candidate c over the shapes of form f (all
 * forms when f < 0); -1 when it failed or does not cover them. */
static double cost(const fl_tune_result *r, int c, int f) {
  if (c < 0 || r->cand[c].failed) return -1;
  double sum = 0;
  for (int i = 0; i < r->n_shapes; i++) {
    if (f >= 0 && (int)r->shapes[i].form != f) continue;
    double t = r->cand[c].seconds[i];
    if (t <= 0) return -1;
    sum += t / (double)r->shapes[i].batch;
  }
  return sum;
}

uint64_t fl__tune_volume(const fl_tune_shape *s) {
  return (uint64_t)s->m * s->n * s->k;
}

static uint64_t icbrt_floor(uint64_t v) {
  uint64_t x = (uint64_t)cbrt((double)v);
  while (x * x * x > v) x--;
  while ((x + 1) * (x + 1) * (x + 1) <= v) x++;
  return x;
}

/* CLBlast's switch with a direct set d and an indirect set x measured on
 * every shape: the threshold T (direct when m*n*k < T^3) with the least
 * cost. Thresholds just above each shape's fl__tune_volume are all the distinct
 * splits; the smallest T that gives the best split leaves shapes bigger
 * than ours to the indirect kernel, which is what large shapes want. */
static double best_switch(const fl_tune_result *r, int d, int x, size_t *t_out) {
  if (r->cand[d].failed || r->cand[x].failed) return -1;
  double best = -1;
  uint64_t ts[FL_TUNE_MAX_SHAPES + 1];
  int nt = 0;
  ts[nt++] = 1;
  for (int i = 0; i < r->n_shapes; i++) ts[nt++] = icbrt_floor(fl__tune_volume(&r->shapes[i])) + 1;
  for (int j = 0; j < nt; j++) {
    double sum = 0;
    for (int i = 0; i < r->n_shapes; i++) {
      uint64_t t3 = ts[j] * ts[j] * ts[j];
      double s = fl__tune_volume(&r->shapes[i]) < t3 ? r->cand[d].seconds[i]
                                            : r->cand[x].seconds[i];
      if (s <= 0) return -1;
      sum += s / (double)r->shapes[i].batch;
    }
    if (best < 0 || sum < best || (sum == best && ts[j] < *t_out)) {
      best = sum;
      *t_out = (size_t)ts[j];
    }
  }
  return best;
}

void fl__tune_choose(fl_tune_result *r, const fl__tune_cand *specs,
                     bool is_cpu, bool now_tiled, const fl__gemm_plan *untuned) {
  /* CLBlast: its own parameters, or the best switch over the direct and
   * indirect candidates (their own parameters or one of our sets). */
  int own = -1;
  for (int c = 0; c < r->n_candidates; c++)
    if (specs[c].kind == FL__CAND_CLBLAST && specs[c].mode == FL__CL_OWN) own = c;
  double cl_cost = cost(r, own, -1);
  int best_d = -1, best_x = -1;
  size_t best_t = 0;
  double tuned = -1;
  for (int d = 0; d < r->n_candidates; d++) {
    if (specs[d].kind != FL__CAND_CLBLAST || specs[d].mode != FL__CL_DIRECT) continue;
    for (int x = 0; x < r->n_candidates; x++) {
      if (specs[x].kind != FL__CAND_CLBLAST || specs[x].mode != FL__CL_INDIRECT) continue;
      size_t t = 0;
      double s = best_switch(r, d, x, &t);
      if (s >= 0 && (tuned < 0 || s < tuned)) {
        tuned = s, best_d = d, best_x = x, best_t = t;
      }
    }
  }
  r->n_clblast = 0;
  if (tuned >= 0 && (cl_cost < 0 || tuned < cl_cost * (1 - OVERRIDE_MARGIN))) {
    cl_cost = tuned;
    params_routine(&r->clblast[r->n_clblast++], best_t);
    bool any_direct = false, any_indirect = false;
    for (int i = 0; i < r->n_shapes; i++) {
      bool dir = fl__tune_volume(&r->shapes[i]) < (uint64_t)best_t * best_t * best_t;
      any_direct |= dir;
      any_indirect |= !dir;
    }
    if (any_direct && specs[best_d].set >= 0)
      r->clblast[r->n_clblast++] = specs[best_d].params;
    if (any_indirect && specs[best_x].set >= 0)
      r->clblast[r->n_clblast++] = specs[best_x].params;
  }

  /* Tiled: the best variant per form (they compute every element in the
   * same order, so the choice changes speed only), gemm_nt for NT. */
  double tiled_cost = -1;
  int nn = 0, tn = 0;
  if (is_cpu) {
    double nn_cost = -1, tn_cost = -1, nt_cost = -1;
    for (int c = 0; c < r->n_candidates; c++) {
      if (specs[c].kind == FL__CAND_TILED_NT) nt_cost = cost(r, c, FL_TUNE_NT);
      if (specs[c].kind != FL__CAND_TILED) continue;
      double a = cost(r, c, FL_TUNE_NN), b = cost(r, c, FL_TUNE_TN);
      if (a >= 0 && (nn_cost < 0 || a < nn_cost)) nn_cost = a, nn = specs[c].variant;
      if (b >= 0 && (tn_cost < 0 || b < tn_cost)) tn_cost = b, tn = specs[c].variant;
    }
    if (nn_cost >= 0 && tn_cost >= 0 && nt_cost >= 0)
      tiled_cost = nn_cost + tn_cost + nt_cost;
  }

  /* The plan: what the device runs now, unless the other is clearly
   * faster. */
  double now_cost = now_tiled ? tiled_cost : cl_cost;
  double other = now_tiled ? cl_cost : tiled_cost;
  bool tiled = now_tiled;
  if (now_cost < 0 || (other >= 0 && other < now_cost * (1 - SWITCH_MARGIN)))
    tiled = !now_tiled;
  if ((tiled ? tiled_cost : cl_cost) < 0) tiled = now_tiled; /* nothing worked */
  r->tiled = tiled;
  r->nn = tiled ? nn : 0;
  r->tn = tiled ? tn : 0;
  r->chosen_cost = tiled ? tiled_cost : cl_cost;
  for (int i = 0; i < r->n_shapes; i++) {
    const fl_tune_shape *s = &r->shapes[i];
    r->chosen[i] = -1;
    for (int c = 0; c < r->n_candidates; c++) {
      const fl__tune_cand *p = &specs[c];
      bool used;
      if (tiled)
        used = s->form == FL_TUNE_NT ? p->kind == FL__CAND_TILED_NT
                                     : p->kind == FL__CAND_TILED &&
                                           p->variant == (s->form == FL_TUNE_NN ? nn : tn);
      else if (r->n_clblast == 0)
        used = c == own;
      else
        used = c == (fl__tune_volume(s) < (uint64_t)best_t * best_t * best_t ? best_d : best_x);
      if (used) r->chosen[i] = c;
    }
  }
  /* The untuned default (fl__gemm_untuned): its variants on CPUs,
   * CLBlast's own elsewhere. */
  r->default_cost = -1;
  if (is_cpu) {
    double a = -1, b = -1, nt = -1;
    for (int c = 0; c < r->n_candidates; c++) {
      if (specs[c].kind == FL__CAND_TILED_NT) nt = cost(r, c, FL_TUNE_NT);
      if (specs[c].kind != FL__CAND_TILED) continue;
      if (specs[c].variant == untuned->nn) a = cost(r, c, FL_TUNE_NN);
      if (specs[c].variant == untuned->tn) b = cost(r, c, FL_TUNE_TN);
    }
    if (a >= 0 && b >= 0 && nt >= 0) r->default_cost = a + b + nt;
  } else {
    r->default_cost = cost(r, own, -1);
  }
}

static void fill_identity(fl_device *dev, fl_tune_result *r) {
  cl_identity id;
  query_identity(dev, &id);
  fl_tune_key(dev, r->key, sizeof r->key);
  snprintf(r->device, sizeof r->device, "%s", dev->info.name);
  snprintf(r->driver, sizeof r->driver, "%s", id.driver);
  snprintf(r->platform, sizeof r->platform, "%s", id.platform);
}

int fl_tune_search(fl_device *dev, const fl_tune_options *opt,
                   fl_tune_result *out, fl_error *err) {
  fl__tune_cand *sp = calloc(FL_TUNE_MAX_CANDIDATES, sizeof *sp);
  if (!sp) return fl_error_set(err, FL_ENOMEM, "out of memory");
  memset(out, 0, sizeof *out);
  bool quick = opt && opt->quick;
  double t0 = now_s();
  fill_identity(dev, out);
  out->quick = quick;
  pick_shapes(out, quick);
  out->n_candidates = list_candidates(dev, quick, out, sp);
  bench bn = {.dev = dev, .opt = opt, .quick = quick};
  /* Operands for the largest shape of each; contents are random values in
   * [-1, 1) (zeros or denormals could time differently). */
  size_t na = 0, nb = 0, nc = 0, nbias = 0;
  for (int i = 0; i < out->n_shapes; i++) {
    const fl_tune_shape *s = &out->shapes[i];
    if (s->m * s->k > na) na = s->m * s->k;
    if (s->k * s->n > nb) nb = s->k * s->n;
    if (s->m * s->n > nc) nc = s->m * s->n;
    if (s->n > nbias) nbias = s->n;
  }
  size_t nmax = na > nb ? na : nb;
  if (nc > nmax) nmax = nc;
  float *host = malloc(nmax * sizeof(float));
  int rc = 0;
  if (!host) {
    rc = fl_error_set(err, FL_ENOMEM, "out of memory");
    goto out;
  }
  fl__rng rng;
  fl__rng_seed(&rng, 42);
  for (size_t i = 0; i < nmax; i++) host[i] = (float)(2 * fl__rng_uniform(&rng) - 1);
  if ((rc = fl__buffer_create(dev, na * 4, host, &bn.a, err)) ||
      (rc = fl__buffer_create(dev, nb * 4, host, &bn.b, err)) ||
      (rc = fl__buffer_create(dev, nc * 4, NULL, &bn.c, err)) ||
      (rc = fl__buffer_create(dev, nbias * 4, host, &bn.bias, err)) ||
      (rc = fl__buffer_create(dev, nc * 4, host, &bn.out, err)))
    goto out;
  progress(&bn, "tune: %s: %d shapes, %d candidates (%s search)", dev->info.name,
           out->n_shapes, out->n_candidates, quick ? "quick" : "full");
  for (int c = 0; c < out->n_candidates;) {
    int n = 1;
    while (sp[c].kind == FL__CAND_TILED && c + n < out->n_candidates &&
           sp[c + n].kind == FL__CAND_TILED && n < GROUP_MAX)
      n++;
    if (stopped(&bn) || measure(&bn, sp, c, n, out)) {
      rc = fl_error_set(err, FL_ECANCELED, "GEMM tuning stopped");
      goto out;
    }
    c += n;
  }
  fl__gemm_plan untuned = fl__gemm_untuned(dev);
  fl__tune_choose(out, sp, dev->info.is_cpu, dev->gemm.impl == FL__GEMM_TILED,
                  &untuned);
  out->search_seconds = now_s() - t0;
  char what[256];
  fl_tune_describe(out, what, sizeof what);
  progress(&bn, "tune: chose %s (%.1f s)", what, out->search_seconds);
out:
  fl__buffer_release(&bn.a);
  fl__buffer_release(&bn.b);
  fl__buffer_release(&bn.c);
  fl__buffer_release(&bn.bias);
  fl__buffer_release(&bn.out);
  free(host);
  free(sp);
  return rc;
}

int fl_tune_apply(fl_device *dev, const fl_tune_result *r, fl_error *err) {
  for (int i = 0; i < r->n_clblast; i++) {
    int rc = override(dev, &r->clblast[i], err);
    if (rc) return rc;
  }
  dev->gemm.impl = r->tiled ? FL__GEMM_TILED : FL__GEMM_CLBLAST;
  dev->gemm.nn = r->nn;
  dev->gemm.tn = r->tn;
  return 0;
}
