/* engine/cl_errors.c — names of OpenCL and CLBlast status codes, and the
 * helpers that turn a failed call into an fl_error. Allocation failures map
 * to FL_EDEVMEM so that callers can report device_out_of_memory. */
#include <clblast_c.h>

#include "engine_internal.h"

const char *fl__cl_error_name(cl_int e) {
  switch (e) {
#define C(x) case x: return #x;
    C(CL_SUCCESS) C(CL_DEVICE_NOT_FOUND) C(CL_DEVICE_NOT_AVAILABLE)
    C(CL_COMPILER_NOT_AVAILABLE) C(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    C(CL_OUT_OF_RESOURCES) C(CL_OUT_OF_HOST_MEMORY)
    C(CL_BUILD_PROGRAM_FAILURE) C(CL_INVALID_VALUE) C(CL_INVALID_DEVICE)
    C(CL_INVALID_CONTEXT) C(CL_INVALID_COMMAND_QUEUE) C(CL_INVALID_MEM_OBJECT)
    C(CL_INVALID_PROGRAM) C(CL_INVALID_KERNEL_NAME) C(CL_INVALID_KERNEL)
    C(CL_INVALID_ARG_INDEX) C(CL_INVALID_ARG_VALUE) C(CL_INVALID_ARG_SIZE)
    C(CL_INVALID_KERNEL_ARGS) C(CL_INVALID_WORK_DIMENSION)
    C(CL_INVALID_WORK_GROUP_SIZE) C(CL_INVALID_WORK_ITEM_SIZE)
    C(CL_INVALID_GLOBAL_OFFSET) C(CL_INVALID_BUFFER_SIZE)
    C(CL_INVALID_GLOBAL_WORK_SIZE) C(CL_INVALID_OPERATION)
    C(CL_INVALID_BUILD_OPTIONS) C(CL_PLATFORM_NOT_FOUND_KHR)
#undef C
  }
  return "CL_UNKNOWN_ERROR";
}

static int is_alloc_failure(cl_int e) {
  return e == CL_MEM_OBJECT_ALLOCATION_FAILURE || e == CL_OUT_OF_RESOURCES ||
         e == CL_OUT_OF_HOST_MEMORY || e == CL_INVALID_BUFFER_SIZE;
}

int fl__cl_fail(fl_error *err, cl_int e, const char *what, const char *file,
                int line) {
  if (is_alloc_failure(e))
    return fl_error_set(err, FL_EDEVMEM,
                        "device out of memory: %s failed with %s (%s:%d); use "
                        "a smaller batch_size or model, or a device with more "
                        "memory",
                        what, fl__cl_error_name(e), file, line);
  return fl_error_set(err, FL_ECL, "%s failed with %s (%d) at %s:%d", what,
                      fl__cl_error_name(e), (int)e, file, line);
}

int fl__blas_fail(fl_error *err, int status, const char *what,
                  const char *file, int line) {
  /* CLBlast passes OpenCL codes through unchanged (negative, > -1000). */
  if (status > -1000 && is_alloc_failure(status))
    return fl__cl_fail(err, status, what, file, line);
  return fl_error_set(err, FL_EBLAS, "%s failed with CLBlast status %d at %s:%d",
                      what, status, file, line);
}
