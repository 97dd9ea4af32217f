# pool_observer — PGXS build
MODULE_big = pool_observer
OBJS = src/pool_observer.o src/guc.o src/shmem.o src/worker.o \
	src/sample.o src/detect.o src/policy.o src/persist.o src/funcs.o
EXTENSION = pool_observer
DATA = $(wildcard pool_observer--*.sql)
PGFILEDESC = "pool_observer - connection pool observer"
PG_CPPFLAGS = -I$(srcdir)/src

REGRESS = setup settings views functions privileges
REGRESS_OPTS = --temp-config=$(srcdir)/test/regress.conf \
	--temp-instance=./tmp_check_regress
TAP_TESTS = 1
PROVE_TESTS = $(sort $(wildcard test/t/*.pl))

EXTRA_CLEAN = tmp_check tmp_check_regress results regression.diffs \
	regression.out log demo/data demo/log

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Makefile.global resets PROVE_FLAGS, so add ours after it.
PROVE_FLAGS += --timer

# Every object depends on the shared headers (PGXS tracks no dependencies).
$(OBJS): src/pool_observer.h src/po_compat.h

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
