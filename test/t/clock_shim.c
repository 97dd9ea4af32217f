/*
 * clock_shim.c
 *	  LD_PRELOAD shim for 061_stalls.pl: shifts CLOCK_REALTIME (and
 *	  gettimeofday, time) by an offset read at run time.
 *
 * PO_CLOCK_FILE names a file holding the offset in seconds (may be
 * negative, may have a fraction).  A file named "$PO_CLOCK_FILE.<pid>"
 * overrides it for that one process.  The files are re-read at most every
 * 10 ms of monotonic time, so a test can step the clock of a running
 * server.  Monotonic clocks are never shifted.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef int (*clock_gettime_fn) (clockid_t, struct timespec *);

static clock_gettime_fn real_clock_gettime = NULL;
static long long offset_ns = 0;
static long long checked_at_ns = -1;

static int
real_gettime(clockid_t id, struct timespec *ts)
{
	if (real_clock_gettime == NULL)
		real_clock_gettime = (clock_gettime_fn) dlsym(RTLD_NEXT, "clock_gettime");
	return real_clock_gettime(id, ts);
}

static int
read_offset(const char *path, long long *ns)
{
	char		buf[64];
	int			fd = open(path, O_RDONLY);
	ssize_t		n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	*ns = (long long) (strtod(buf, NULL) * 1e9);
	return 1;
}

static long long
current_offset(void)
{
	struct timespec mono;
	long long	now;
	const char *file;

	real_gettime(CLOCK_MONOTONIC, &mono);
	now = (long long) mono.tv_sec * 1000000000LL + mono.tv_nsec;
	if (checked_at_ns >= 0 && now - checked_at_ns < 10000000LL)
		return offset_ns;
	checked_at_ns = now;
	file = getenv("PO_CLOCK_FILE");
	if (file != NULL)
	{
		char		own[4096];
		long long	ns = 0;

		snprintf(own, sizeof(own), "%s.%d", file, (int) getpid());
		if (read_offset(own, &ns) || read_offset(file, &ns))
			offset_ns = ns;
		else
			offset_ns = 0;
	}
	return offset_ns;
}

static void
shift(struct timespec *ts)
{
	long long	t = (long long) ts->tv_sec * 1000000000LL + ts->tv_nsec;

	t += current_offset();
	ts->tv_sec = t / 1000000000LL;
	ts->tv_nsec = t % 1000000000LL;
	if (ts->tv_nsec < 0)
	{
		ts->tv_nsec += 1000000000LL;
		ts->tv_sec--;
	}
}

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	int			rc = real_gettime(id, ts);

	if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
		shift(ts);
	return rc;
}

int
gettimeofday(struct timeval *tv, void *tz)
{
	struct timespec ts;

	real_gettime(CLOCK_REALTIME, &ts);
	shift(&ts);
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

time_t
time(time_t *t)
{
	struct timespec ts;

	real_gettime(CLOCK_REALTIME, &ts);
	shift(&ts);
	if (t != NULL)
		*t = ts.tv_sec;
	return ts.tv_sec;
}
