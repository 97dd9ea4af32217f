# pool_observer — PGXS build
MODULE_big = pool_observer
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
EXTENSION = pool_observer
# pool_observer--1.1.sql is made from the 1.0 script and the 1.0--1.1
# update, so that a fresh install and an update run the same statements.
DATA = pool_observer--1.0.sql pool_observer--1.0--1.1.sql
DATA_built = pool_observer--1.1.sql
PGFILEDESC = "pool_observer - connection pool observer"
PG_CPPFLAGS = -I$(srcdir)/src

REGRESS = setup update settings views functions privileges
REGRESS_OPTS = --temp-config=$(srcdir)/test/regress.conf \
	--temp-instance=./tmp_check_regress
TAP_TESTS = 1
PROVE_TESTS = $(sort $(wildcard test/t/*.pl))

EXTRA_CLEAN = tmp_check tmp_check_regress results regression.diffs \
	regression.out log demo/data demo/log

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

pool_observer--1.1.sql: pool_observer--1.0.sql pool_observer--1.0--1.1.sql
	{ cat $(srcdir)/pool_observer--1.0.sql; \
	  sed -e '/^\\echo Use /d' -e '/^-- complain if script is sourced/d' -e 's|^/\* pool_observer--1.0--1.1.sql \*/$$|-- from pool_observer--1.0--1.1.sql|' \
	    $(srcdir)/pool_observer--1.0--1.1.sql; } > $@

# Makefile.global resets PROVE_FLAGS, so add ours after it.
PROVE_FLAGS += --timer

# PGXS tracks no header dependencies: rebuild an object when any of our
# headers changes (they are small; this errs on the side of rebuilding).
$(OBJS): $(wildcard src/*.h)

# ---------------------------------------------------------------------------
# Project targets (see README.md).  These wrap scripts in test/ and bench/
# that install what they need when run as root on Debian.
# ---------------------------------------------------------------------------
.PHONY: test test-one demo demo-stop bench lint deps chroots

# PostgreSQL versions for `make test` (default: all of 15 17 18 19) and
# `make bench` (default: 15), e.g. `make test PG=18`, `make test PG="15 18"`.
PG ?=

deps:
	bash test/deps.sh

# Every version: 15 on the host, 17/18/19 in Debian chroots (test/matrix.sh).
test:
	bash test/matrix.sh $(PG)

# The suite once, on the host, for PO_PG_MAJOR (default 15).
test-one:
	bash test/run-all.sh

# Make (or check) the cached chroots without running anything in them.
chroots:
	bash test/chroot.sh ensure trixie && bash test/chroot.sh ensure sid

demo:
	bash test/demo.sh start

demo-stop:
	bash test/demo.sh stop

bench:
	bash test/matrix.sh --bench $(PG)

lint:
	bash test/lint.sh
