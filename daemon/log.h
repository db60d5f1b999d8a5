/* daemon/log.h — flatlined's log: one line per message on stderr with the
 * "<N>" priority prefix that journald understands (sd-daemon(3)). */
#ifndef FL_DAEMON_LOG_H
#define FL_DAEMON_LOG_H

enum { FL_LOG_ERR = 3, FL_LOG_WARNING = 4, FL_LOG_NOTICE = 5, FL_LOG_INFO = 6,
       FL_LOG_DEBUG = 7 };

void fl_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
