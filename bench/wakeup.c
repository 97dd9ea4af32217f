/*
 * wakeup.c - the cost of merely waking up, for comparison with a sampler.
 *
 * Sleeps in poll() for the given number of milliseconds, forever, doing
 * nothing else.  Its CPU time per wakeup (from /proc/<pid>/schedstat, read by
 * the benchmark driver) is the floor that any periodic sampler pays on this
 * machine before it does any work: timer, scheduler, context switch.
 *
 * usage: wakeup <period_ms>
 */
#include <poll.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
	int			ms = argc > 1 ? atoi(argv[1]) : 10;

	if (ms <= 0)
		ms = 10;
	for (;;)
		(void) poll(NULL, 0, ms);
	return 0;
}
