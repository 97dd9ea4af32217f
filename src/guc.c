/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  Settings of pool_observer.
 *
 * Sizes of shared memory need a restart; everything else is read by the
 * sampler at its next sample after a reload.  Thresholds are durations in
 * milliseconds (GUC_UNIT_MS, so '30s' works); zero or negative disables.
 *
 * IDENTIFICATION
 *	  src/guc.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <float.h>

#include "utils/guc.h"

#include "guc.h"
#include "types.h"

bool		po_enabled = true;
int			po_sample_interval = 1000;
int			po_history_interval = 60;
int			po_max_pools = 64;
int			po_history_size = 360;
int			po_max_events = 1000;
int			po_max_profile_entries = 4096;
int			po_profile_top = 5;
bool		po_profile_enabled = true;
int			po_idle_in_transaction_threshold = 30000;
int			po_slow_statement_threshold = 10000;
int			po_long_transaction_threshold = 60000;
int			po_lock_wait_threshold = 5000;
int			po_saturation_threshold = 10000;
double		po_churn_threshold = 20.0;
int			po_max_connections_warn = 80;
int			po_idle_in_transaction_terminate_after = 0;
int			po_long_transaction_terminate_after = 0;
int			po_slow_statement_cancel_after = 0;
bool		po_terminate_only_blockers = false;
bool		po_dry_run = false;
char	   *po_exempt_roles = NULL;
char	   *po_exempt_applications = NULL;
bool		po_act_on_superusers = false;
int			po_max_actions_per_minute = 10;
bool		po_log_events = true;
int			po_sampling_method = PO_SAMPLING_DIRECT;

static const struct config_enum_entry sampling_method_options[] = {
	{"direct", PO_SAMPLING_DIRECT, false},
	{"pgstat", PO_SAMPLING_PGSTAT, false},
	{NULL, 0, false}
};

/*
 * Accept a comma-separated list of names; names may be double-quoted to
 * keep commas, spaces or upper case.  Matching is exact.
 */
static bool
check_name_list(char **newval, void **extra, GucSource source)
{
	char		toolong[NAMEDATALEN * 4];

	if (po_check_name_list(*newval, toolong, sizeof(toolong)))
		return true;
	if (toolong[0] != '\0')
		GUC_check_errdetail("Name \"%s\" is longer than %d bytes.",
							toolong, NAMEDATALEN - 1);
	else
		GUC_check_errdetail("List syntax is invalid.");
	return false;
}

static void
define_threshold(const char *name, const char *short_desc, int *var, int def)
{
	DefineCustomIntVariable(name,
							short_desc,
							"Zero or a negative value disables the check.",
							var,
							def, -1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
}

static void
define_action_after(const char *name, const char *short_desc, int *var)
{
	DefineCustomIntVariable(name,
							short_desc,
							"Zero or a negative value disables the action.",
							var,
							0, -1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
}

/* Sizes of shared memory: fixed at start. */
static void
define_memory_gucs(void)
{
	DefineCustomIntVariable("pool_observer.max_pools",
							"Sets the number of pools tracked individually.",
							"Pools beyond this are folded into one overflow pool.",
							&po_max_pools,
							64, 1, PO_MAX_POOLS_MAX,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("pool_observer.history_size",
							"Sets the number of history buckets kept.",
							NULL,
							&po_history_size,
							360, PO_HISTORY_SIZE_MIN, PO_HISTORY_SIZE_MAX,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("pool_observer.max_events",
							"Sets the number of events kept.",
							"The oldest event is overwritten when the ring is full.",
							&po_max_events,
							1000, PO_MAX_EVENTS_MIN, PO_MAX_EVENTS_MAX,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("pool_observer.max_profile_entries",
							"Sets the number of busy-time profile entries kept.",
							"Entries beyond this are folded into one other entry per pool.",
							&po_max_profile_entries,
							4096, PO_MAX_PROFILE_ENTRIES_MIN, PO_MAX_PROFILE_ENTRIES_MAX,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("pool_observer.profile_top",
							"Sets the number of profile entries kept per pool and history bucket.",
							"The rest of the pool's busy time in the bucket is kept as one other entry.",
							&po_profile_top,
							5, PO_PROFILE_TOP_MIN, PO_PROFILE_TOP_MAX,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
}

/* Sampling: read at the next sample after a reload. */
static void
define_sampling_gucs(void)
{
	DefineCustomBoolVariable("pool_observer.enabled",
							 "Enables sampling.",
							 NULL,
							 &po_enabled,
							 true,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("pool_observer.sample_interval",
							"Sets the time between two samples.",
							NULL,
							&po_sample_interval,
							1000, 10, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("pool_observer.history_interval",
							"Sets the width of one history bucket.",
							NULL,
							&po_history_interval,
							60, 1, 86400,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("pool_observer.profile",
							 "Collects the busy-time profile of each pool.",
							 NULL,
							 &po_profile_enabled,
							 true,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomEnumVariable("pool_observer.sampling_method",
							 "Sets how the sampler reads backend status.",
							 "\"direct\" reads the shared status array in place; \"pgstat\" uses the slower snapshot interface.",
							 &po_sampling_method,
							 PO_SAMPLING_DIRECT,
							 sampling_method_options,
							 PGC_SIGHUP, GUC_NOT_IN_SAMPLE,
							 NULL, NULL, NULL);
}

/* Detection thresholds. */
static void
define_detection_gucs(void)
{
	define_threshold("pool_observer.idle_in_transaction_threshold",
					 "Reports sessions idle in a transaction longer than this.",
					 &po_idle_in_transaction_threshold, 30000);
	define_threshold("pool_observer.slow_statement_threshold",
					 "Reports statements running longer than this.",
					 &po_slow_statement_threshold, 10000);
	define_threshold("pool_observer.long_transaction_threshold",
					 "Reports transactions open longer than this.",
					 &po_long_transaction_threshold, 60000);
	define_threshold("pool_observer.lock_wait_threshold",
					 "Reports sessions waiting on a lock longer than this.",
					 &po_lock_wait_threshold, 5000);
	define_threshold("pool_observer.saturation_threshold",
					 "Reports pools whose every connection has been busy longer than this.",
					 &po_saturation_threshold, 10000);
	DefineCustomRealVariable("pool_observer.churn_threshold",
							 "Reports pools opening more new connections per second than this.",
							 "Zero or a negative value disables the check.",
							 &po_churn_threshold,
							 20.0, -1.0, 1000000.0,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("pool_observer.max_connections_warn",
							"Reports client connections above this percentage of the usable max_connections.",
							"Zero or a negative value disables the check.",
							&po_max_connections_warn,
							80, -1, 100,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
}

/* Actions and the rules that limit them. */
static void
define_action_gucs(void)
{
	define_action_after("pool_observer.idle_in_transaction_terminate_after",
						"Terminates sessions idle in a transaction longer than this.",
						&po_idle_in_transaction_terminate_after);
	define_action_after("pool_observer.long_transaction_terminate_after",
						"Terminates sessions whose transaction has been open longer than this.",
						&po_long_transaction_terminate_after);
	define_action_after("pool_observer.slow_statement_cancel_after",
						"Cancels statements running longer than this.",
						&po_slow_statement_cancel_after);
	DefineCustomBoolVariable("pool_observer.terminate_only_blockers",
							 "Terminates idle-in-transaction sessions only while they block another session.",
							 NULL,
							 &po_terminate_only_blockers,
							 false,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("pool_observer.dry_run",
							 "Records the actions that would be taken without taking them.",
							 NULL,
							 &po_dry_run,
							 false,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomStringVariable("pool_observer.exempt_roles",
							   "Sets the roles whose sessions are never acted on.",
							   "A comma-separated list of role names.",
							   &po_exempt_roles,
							   "",
							   PGC_SIGHUP, GUC_LIST_INPUT,
							   check_name_list, NULL, NULL);
	DefineCustomStringVariable("pool_observer.exempt_applications",
							   "Sets the application names whose sessions are never acted on.",
							   "A comma-separated list of application names.",
							   &po_exempt_applications,
							   "",
							   PGC_SIGHUP, GUC_LIST_INPUT,
							   check_name_list, NULL, NULL);
	DefineCustomBoolVariable("pool_observer.act_on_superusers",
							 "Allows actions on superuser sessions.",
							 NULL,
							 &po_act_on_superusers,
							 false,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("pool_observer.max_actions_per_minute",
							"Sets the most actions the sampler takes in one minute.",
							"Actions past the limit are recorded as suppressed and retried later.",
							&po_max_actions_per_minute,
							10, 0, PO_MAX_ACTIONS_PER_MINUTE_MAX,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("pool_observer.log_events",
							 "Writes each event and action to the server log.",
							 NULL,
							 &po_log_events,
							 true,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
}

void
po_define_gucs(void)
{
	define_memory_gucs();
	define_sampling_gucs();
	define_detection_gucs();
	define_action_gucs();

	MarkGUCPrefixReserved("pool_observer");
}
