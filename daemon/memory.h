/* daemon/memory.h — the daemon's host memory: a budget that data loads and
 * checks of all users share, and the share of RAM a CPU device may give to
 * models (memory.c). */
#ifndef FL_DAEMON_MEMORY_H
#define FL_DAEMON_MEMORY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "flatline/common.h"
#include "flatline/engine.h"

typedef struct {
  pthread_mutex_t lock;
  pthread_cond_t freed;
  uint64_t total;  /* load_memory_bytes */
  uint64_t used;   /* reserved by loads under way and jobs' datasets */
} fl_mem_budget;

void fl_mem_budget_init(fl_mem_budget *b, uint64_t total);
void fl_mem_budget_destroy(fl_mem_budget *b);
/* A new total (SIGHUP); waiters look again. */
void fl_mem_budget_resize(fl_mem_budget *b, uint64_t total);
/* Reserve bytes, waiting while others hold the budget (loads queue rather
 * than run past it). FL_ETOOBIG at once, with a message naming the limit,
 * when bytes exceed the whole budget; FL_ECANCELED when *stop becomes true
 * while waiting (checked every 100 ms); FL_ETOOBIG, saying the budget is
 * busy, after max_wait_s (< 0: no limit). `what` names the load. */
int fl_mem_acquire(fl_mem_budget *b, uint64_t bytes, const atomic_bool *stop,
                   double max_wait_s, const char *what, fl_error *err);
void fl_mem_release(fl_mem_budget *b, uint64_t bytes);

/* The bytes of RAM that percent of it is (the machine's physical memory). */
uint64_t fl_ram_share(uint32_t percent);
/* Cap a CPU device's memory (in info, as listed) at percent of RAM. */
void fl_device_info_cap(fl_device_info *info, uint32_t percent);

#endif
