/* daemon/sd.h — the three pieces of the systemd protocol flatlined speaks,
 * without libsystemd: the socket-activation hand-over (sd_listen_fds(3)),
 * state notifications (sd_notify(3)) and the watchdog interval
 * (sd_watchdog_enabled(3)). Each function reads the environment systemd
 * sets up, so call fl_sd_listen_fd() from main() before starting threads. */
#ifndef FL_DAEMON_SD_H
#define FL_DAEMON_SD_H

#include <stdint.h>

/* The first file descriptor systemd passes (SD_LISTEN_FDS_START). */
#define FL_SD_LISTEN_FDS_START 3

/* The listening socket systemd passed to this process: returns fd 3 when
 * LISTEN_PID is this process and LISTEN_FDS >= 1, -1 otherwise (not
 * socket-activated: the caller binds its own socket). Every passed fd gets
 * FD_CLOEXEC; with several, only the first is returned (flatlined.socket
 * passes one) and the rest stay open. LISTEN_PID, LISTEN_FDS and
 * LISTEN_FDNAMES are removed from the environment whenever they are present,
 * so that children never see them. The fd's type is not checked here: a
 * unit that passes something other than a listening stream socket makes the
 * caller's listen/accept fail, loudly. */
int fl_sd_listen_fd(void);

/* Sends state ("READY=1", "STATUS=...", "WATCHDOG=1", "STOPPING=1",
 * several separated by '\n') as one datagram to $NOTIFY_SOCKET, a
 * filesystem path or, when it starts with '@', an abstract socket.
 * Returns 0 when sent or when NOTIFY_SOCKET is unset (not under systemd),
 * FL_EINVAL for an empty state or an unusable NOTIFY_SOCKET, FL_EIO when
 * sending failed (errno then says why, for the log). NOTIFY_SOCKET stays
 * set: the daemon notifies repeatedly. */
int fl_sd_notify(const char *state);

/* The watchdog interval in microseconds: WATCHDOG_USEC when it is a
 * positive number and WATCHDOG_PID is unset or this process; 0 (no
 * watchdog) otherwise. Send "WATCHDOG=1" at least every half of it. */
uint64_t fl_sd_watchdog_usec(void);

#endif
