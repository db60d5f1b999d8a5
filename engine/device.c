/* engine/device.c — OpenCL device discovery, selection, and the long-lived
 * per-device state: context, in-order queue, the flatline program (built
 * once) and its kernels. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

#define FL__MAX_PLATFORMS 16

typedef struct {
  cl_platform_id platform;
  cl_device_id device;
} fl__device_ref;

/* Walk all platforms and devices in a stable order; fills refs and infos. */
static int enumerate(fl__device_ref *refs, fl_device_info *infos, int max,
                     fl_error *err) {
  cl_platform_id plats[FL__MAX_PLATFORMS];
  cl_uint nplat = 0;
  cl_int e = clGetPlatformIDs(FL__MAX_PLATFORMS, plats, &nplat);
  if (e == CL_PLATFORM_NOT_FOUND_KHR || (e == CL_SUCCESS && nplat == 0))
    return 0;
  if (e != CL_SUCCESS)
    return fl__cl_fail(err, e, "clGetPlatformIDs", __FILE__, __LINE__);
  if (nplat > FL__MAX_PLATFORMS) nplat = FL__MAX_PLATFORMS;
  int n = 0;
  for (cl_uint p = 0; p < nplat && n < max; p++) {
    cl_device_id devs[FL_MAX_DEVICES];
    cl_uint ndev = 0;
    if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, FL_MAX_DEVICES, devs,
                       &ndev) != CL_SUCCESS)
      continue; /* a platform without devices is not an error */
    if (ndev > FL_MAX_DEVICES) ndev = FL_MAX_DEVICES;
    for (cl_uint d = 0; d < ndev && n < max; d++) {
      fl_device_info *in = &infos[n];
      memset(in, 0, sizeof *in);
      in->index = n;
      cl_device_type type = 0;
      cl_ulong gmem = 0, maxalloc = 0;
      cl_uint cu = 0;
      clGetDeviceInfo(devs[d], CL_DEVICE_NAME, sizeof in->name - 1, in->name, NULL);
      clGetDeviceInfo(devs[d], CL_DEVICE_VENDOR, sizeof in->vendor - 1, in->vendor, NULL);
      clGetPlatformInfo(plats[p], CL_PLATFORM_NAME, sizeof in->platform - 1,
                        in->platform, NULL);
      clGetDeviceInfo(devs[d], CL_DEVICE_TYPE, sizeof type, &type, NULL);
      clGetDeviceInfo(devs[d], CL_DEVICE_GLOBAL_MEM_SIZE, sizeof gmem, &gmem, NULL);
      clGetDeviceInfo(devs[d], CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof maxalloc,
                      &maxalloc, NULL);
      clGetDeviceInfo(devs[d], CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
      in->is_gpu = (type & CL_DEVICE_TYPE_GPU) != 0;
      in->is_cpu = (type & CL_DEVICE_TYPE_CPU) != 0;
      in->global_mem = gmem;
      in->max_alloc = maxalloc;
      in->compute_units = cu;
      if (refs) {
        refs[n].platform = plats[p];
        refs[n].device = devs[d];
      }
      n++;
    }
  }
  return n;
}

int fl_devices_list(fl_device_info *out, int max, fl_error *err) {
  return enumerate(NULL, out, max, err);
}

static int name_contains(const char *hay, const char *needle) {
  size_t nl = strlen(needle);
  for (; *hay; hay++) {
    size_t i = 0;
    while (i < nl && hay[i] &&
           tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
      i++;
    if (i == nl) return 1;
  }
  return 0;
}

int fl_device_resolve(const fl_device_info *devs, int n, const char *want,
                      int *index, fl_error *err) {
  if (n <= 0)
    return fl_error_set(err, FL_ENODEV,
                        "no OpenCL device found: install an OpenCL driver "
                        "(on a machine without a GPU: apt-get install "
                        "pocl-opencl-icd) and check with clinfo -l");
  if (!want || !*want || strcmp(want, "auto") == 0) {
    for (int i = 0; i < n; i++)
      if (devs[i].is_gpu) return *index = i, 0;
    for (int i = 0; i < n; i++)
      if (devs[i].is_cpu) return *index = i, 0;
    return *index = 0, 0;
  }
  char *end = NULL;
  long v = strtol(want, &end, 10);
  if (end != want && *end == '\0') {
    if (v < 0 || v >= n)
      return fl_error_set(err, FL_ENODEV,
                          "device: index %ld does not exist; there are %d "
                          "device(s), 0 to %d",
                          v, n, n - 1);
    return *index = (int)v, 0;
  }
  for (int i = 0; i < n; i++)
    if (name_contains(devs[i].name, want) || name_contains(devs[i].platform, want))
      return *index = i, 0;
  return fl_error_set(err, FL_ENODEV,
                      "device: no device name contains \"%s\"; use \"auto\", "
                      "an index, or part of a name listed by `flatline devices`",
                      want);
}

static const char *const kernel_names[FL_K_COUNT] = {
#define FL__KERNEL_NAME(name) #name,
    FL_KERNEL_MAP(FL__KERNEL_NAME)
#undef FL__KERNEL_NAME
};

static int build_program(fl_device *dev, fl_error *err) {
  cl_int e;
  const char *src = fl__kernel_source;
  size_t len = fl__kernel_source_len;
  dev->program = clCreateProgramWithSource(dev->ctx, 1, &src, &len, &e);
  FL_CL_CHECK(err, e);
  /* The sizes that launchers (ops.c) and kernels must agree on are
   * defined once, here on the host, and handed to the kernels. */
  /* -cl-denorms-are-zero: POCL then runs the kernels with FTZ/DAZ set.
   * Without it Adam's moments of rarely used weights (Fashion-MNIST's
   * border pixels) decay into denormals, and adam_update went from 98 to
   * 1236 us a call on the Xeon by the second epoch at batch 32 (epochs
   * 34.5k, 26.3k, 23.7k samples/s; bench/README.md). Values below 1.2e-38
   * become 0: no trained quantity is that small and meaningful. */
  char opts[256];
  snprintf(opts, sizeof opts,
           "-cl-std=CL1.2 -cl-denorms-are-zero -DFL_NORM_WG=%d -DFL_NT=%d -DFL_NT_STRIP=%d "
           "-DFL_NT_KMAX=%d -DFL_NTS_ROWS=%d -DFL_BG_UNITS=%d -DFL_BG_SLICES=%d "
           "-DFL_BM_WG=%d",
           FL__NORM_WG, FL__GEMM_NT_TILE, FL__GEMM_NT_STRIP, FL__GEMM_NT_KMAX,
           FL__GEMM_NTS_ROWS, FL__BG_UNITS, FL__BG_SLICES, FL__BM_WG);
  e = clBuildProgram(dev->program, 1, &dev->id, opts, NULL, NULL);
  if (e != CL_SUCCESS) {
    char log[2048] = "";
    clGetProgramBuildInfo(dev->program, dev->id, CL_PROGRAM_BUILD_LOG,
                          sizeof log - 1, log, NULL);
    return fl_error_set(err, FL_ECL, "building the flatline kernels for %s "
                        "failed (%s): %.1500s", dev->info.name,
                        fl__cl_error_name(e), log);
  }
  for (int i = 0; i < FL_K_COUNT; i++) {
    dev->k[i] = clCreateKernel(dev->program, kernel_names[i], &e);
    if (e != CL_SUCCESS)
      return fl_error_set(err, FL_ECL, "kernel %s missing from the program (%s)",
                          kernel_names[i], fl__cl_error_name(e));
  }
  return 0;
}

int fl_device_open(int index, fl_device **out, fl_error *err) {
  fl__device_ref refs[FL_MAX_DEVICES];
  fl_device_info infos[FL_MAX_DEVICES];
  *out = NULL;
  int n = enumerate(refs, infos, FL_MAX_DEVICES, err);
  if (n < 0) return n;
  if (index < 0 || index >= n)
    return fl_error_set(err, FL_ENODEV, "device %d does not exist (%d found)",
                        index, n);
  fl_device *dev = calloc(1, sizeof *dev);
  if (!dev) return fl_error_set(err, FL_ENOMEM, "out of memory");
  dev->info = infos[index];
  dev->platform = refs[index].platform;
  dev->id = refs[index].device;
  cl_int e;
  cl_context_properties props[] = {CL_CONTEXT_PLATFORM,
                                   (cl_context_properties)dev->platform, 0};
  int rc = 0;
  dev->ctx = clCreateContext(props, 1, &dev->id, NULL, NULL, &e);
  if (e != CL_SUCCESS) {
    rc = fl__cl_fail(err, e, "clCreateContext", __FILE__, __LINE__);
    goto fail;
  }
  dev->queue = clCreateCommandQueue(dev->ctx, dev->id, 0, &e);
  if (e != CL_SUCCESS) {
    rc = fl__cl_fail(err, e, "clCreateCommandQueue", __FILE__, __LINE__);
    goto fail;
  }
  rc = build_program(dev, err);
  if (rc) goto fail;
  /* Until a tuning result says otherwise (tune.c says why). */
  dev->gemm = fl__gemm_untuned(dev);
  /* Packing B pays for itself from about this size on (2^25 multiply-adds,
   * ~0.5 ms here): below it the extra pass and launch cost more than the
   * ordered loads save. */
  dev->pack_min_volume = (size_t)1 << 25;
  /* The GPU-shaped kernels need work-groups of FL__BM_WG items. */
  size_t max_wg = 0;
  clGetDeviceInfo(dev->id, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof max_wg, &max_wg, NULL);
  dev->wide_kernels = !dev->info.is_cpu && max_wg >= FL__BM_WG &&
                      max_wg >= FL__BG_UNITS * FL__BG_SLICES;
  *out = dev;
  return 0;
fail:
  fl_device_close(dev);
  return rc;
}

void fl_device_close(fl_device *dev) {
  if (!dev) return;
  if (dev->queue) clFinish(dev->queue);
  fl__buffer_release(&dev->gemm_tmp.buf);
  fl__buffer_release(&dev->pack_tmp.buf);
  for (int i = 0; i < FL_K_COUNT; i++)
    if (dev->k[i]) clReleaseKernel(dev->k[i]);
  if (dev->program) clReleaseProgram(dev->program);
  if (dev->queue) clReleaseCommandQueue(dev->queue);
  if (dev->ctx) clReleaseContext(dev->ctx);
  free(dev);
}

const fl_device_info *fl_device_get_info(const fl_device *dev) {
  return &dev->info;
}

void fl_device_limit_memory(fl_device *dev, uint64_t bytes) {
  if (bytes < dev->info.global_mem) dev->info.global_mem = bytes;
  if (dev->info.max_alloc > dev->info.global_mem) dev->info.max_alloc = dev->info.global_mem;
}

int fl_device_profile_start(fl_device *dev, fl_error *err) {
  cl_int e;
  FL_CL_CHECK(err, clFinish(dev->queue));
  cl_command_queue q = clCreateCommandQueue(dev->ctx, dev->id,
                                            CL_QUEUE_PROFILING_ENABLE, &e);
  FL_CL_CHECK(err, e);
  clReleaseCommandQueue(dev->queue);
  dev->queue = q;
  dev->profiling = true;
  memset(dev->prof, 0, sizeof dev->prof);
  return 0;
}

int fl_device_profile_read(const fl_device *dev, fl_profile_entry *out,
                           int max) {
  int n = 0;
  for (int i = 0; i < FL__PROF_SLOTS && n < max; i++) {
    if (dev->prof[i].calls == 0) continue;
    out[n].name = i < FL_K_COUNT ? kernel_names[i]
                  : i == FL__PROF_CLBLAST ? "CLBlastSgemm" : "transfers+fills";
    out[n].seconds = dev->prof[i].seconds;
    out[n].calls = dev->prof[i].calls;
    /* insertion into decreasing time */
    for (int j = n; j > 0 && out[j].seconds > out[j - 1].seconds; j--) {
      fl_profile_entry t = out[j];
      out[j] = out[j - 1];
      out[j - 1] = t;
    }
    n++;
  }
  return n;
}
