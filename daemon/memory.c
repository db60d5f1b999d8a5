/* daemon/memory.c — see memory.h. Why a budget: the data readers hold a
 * file, its inflated bytes and the float arrays at once, on the thread
 * pool for checks and on a worker for jobs; unbounded, a few crafted
 * uploads sent to `check` in parallel took the daemon past 5 GiB. Each
 * load reserves its header-derived bound first (fl_data_load_bound). */
#include "memory.h"

#include <errno.h>
#include <time.h>
#include <unistd.h>

void fl_mem_budget_init(fl_mem_budget *b, uint64_t total) {
  pthread_mutex_init(&b->lock, NULL);
  pthread_cond_init(&b->freed, NULL);
  b->total = total;
  b->used = 0;
}

void fl_mem_budget_destroy(fl_mem_budget *b) {
  pthread_cond_destroy(&b->freed);
  pthread_mutex_destroy(&b->lock);
}

void fl_mem_budget_resize(fl_mem_budget *b, uint64_t total) {
  pthread_mutex_lock(&b->lock);
  b->total = total;
  pthread_cond_broadcast(&b->freed);
  pthread_mutex_unlock(&b->lock);
}

int fl_mem_acquire(fl_mem_budget *b, uint64_t bytes, const atomic_bool *stop,
                   double max_wait_s, const char *what, fl_error *err) {
  pthread_mutex_lock(&b->lock);
  int rc = 0;
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    if (bytes > b->total) {
      rc = fl_error_set(err, FL_ETOOBIG, "%s needs up to %.1f MiB of host memory "
                        "to load, more than the daemon's whole budget for data "
                        "loads (load_memory_bytes = %.1f MiB); use smaller or "
                        "uncompressed files, or ask the admin to raise "
                        "load_memory_bytes", what, bytes / 1048576.0,
                        b->total / 1048576.0);
      break;
    }
    if (b->used + bytes <= b->total) {
      b->used += bytes;
      break;
    }
    if (stop && atomic_load(stop)) {
      rc = fl_error_set(err, FL_ECANCELED, "%s: stopped while waiting for memory", what);
      break;
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double waited = (double)(now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) * 1e-9;
    if (max_wait_s >= 0 && waited >= max_wait_s) {
      rc = fl_error_set(err, FL_ETOOBIG, "%s needs up to %.1f MiB of host memory "
                        "to load, and other loads and running jobs hold %.1f of "
                        "the daemon's %.1f MiB for data (load_memory_bytes); "
                        "try again when they are done", what, bytes / 1048576.0,
                        b->used / 1048576.0, b->total / 1048576.0);
      break;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 100 * 1000 * 1000;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&b->freed, &b->lock, &until);
  }
  pthread_mutex_unlock(&b->lock);
  return rc;
}

void fl_mem_release(fl_mem_budget *b, uint64_t bytes) {
  pthread_mutex_lock(&b->lock);
  b->used -= bytes <= b->used ? bytes : b->used;
  pthread_cond_broadcast(&b->freed);
  pthread_mutex_unlock(&b->lock);
}

uint64_t fl_ram_share(uint32_t percent) {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return UINT64_MAX;
  return (uint64_t)pages * (uint64_t)page / 100u * percent;
}

void fl_device_info_cap(fl_device_info *info, uint32_t percent) {
  if (!info->is_cpu) return; /* a GPU's memory is its own */
  uint64_t cap = fl_ram_share(percent);
  if (cap < info->global_mem) info->global_mem = cap;
  if (info->max_alloc > info->global_mem) info->max_alloc = info->global_mem;
}
