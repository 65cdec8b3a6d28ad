# ferry: build, test and install. GNU make. Run ./configure first, or let
# `make` run it (config.mk is remade from configure, after tools/deps has
# installed the build dependencies when they are missing).

-include config.mk

CC ?= gcc
PREFIX ?= /usr/local
SYSCONFDIR ?= $(PREFIX)/etc
LOCALSTATEDIR ?= /var
RUNSTATEDIR ?= /run
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=
PYTHON ?= /usr/bin/python3
VERSION = 0.9.0

# Where `make install` puts things (configure sets the first five).
SBINDIR        = $(PREFIX)/sbin
BINDIR         = $(PREFIX)/bin
DOCDIR         = $(PREFIX)/share/doc/ferry
NGINX_SNIPPETS = $(SYSCONFDIR)/nginx/snippets
SYSTEMD_UNITDIR = $(PREFIX)/lib/systemd/system
SYSUSERSDIR    = $(PREFIX)/lib/sysusers.d
# ferryd's built-in paths follow configure (include/ferry/paths.h)
PATH_DEFS = -DFERRY_SYSCONFDIR='"$(SYSCONFDIR)"' \
            -DFERRY_LOCALSTATEDIR='"$(LOCALSTATEDIR)"' \
            -DFERRY_RUNSTATEDIR='"$(RUNSTATEDIR)"' \
            -DFERRY_VERSION='"$(VERSION)"'

WARN     = -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
BASE_CFLAGS = -std=gnu11 $(WARN) -Iinclude $(DEP_CFLAGS) -D_GNU_SOURCE \
              $(PATH_DEFS)
CFLAGS  ?= -O2 -g
# The release build is hardened (Debian's hardening=+all, less what the
# sanitizers cover): stack protector, fortified libc calls, PIE, full RELRO.
# The user's CFLAGS/LDFLAGS come last, so they can override any of it
# (e.g. CFLAGS='-O0 -g -U_FORTIFY_SOURCE' for a debugger build).
# tools/check-hardening checks the result.
HARDEN_CFLAGS  = -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
HARDEN_LDFLAGS = -pie -Wl,-z,relro,-z,now
SAN      = -fsanitize=address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=undefined

SRC      = $(wildcard src/*.c)
LIB_SRC  = $(filter-out src/main.c,$(SRC))
OBJ      = $(SRC:src/%.c=build/obj/%.o)
LIB_OBJ  = $(LIB_SRC:src/%.c=build/obj/%.o)
SAN_OBJ  = $(LIB_SRC:src/%.c=build/san/%.o)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=build/unit/%)
HDR      = $(wildcard include/ferry/*.h src/*.h)

# libFuzzer targets: tests/fuzz/fuzz_<name>.c, its seeds in corpus/<name>/,
# its dictionary <name>.dict, its reproducers in regress/<name>/ (run.sh
# finds them by name).  Built with clang in build/fuzz/: the library objects
# with fuzzer-no-link coverage, each target with libFuzzer's main.
FUZZ_CC      = clang
FUZZ_SAN     = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
               -fno-omit-frame-pointer
FUZZ_CFLAGS  = -std=gnu11 $(WARN) -Iinclude $(DEP_CFLAGS) -D_GNU_SOURCE \
               $(PATH_DEFS) -O1 -g $(FUZZ_SAN) -DFUZZ_TOPDIR='"$(CURDIR)"'
FUZZ_SRC     = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES   = $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
FUZZ_BIN     = $(FUZZ_NAMES:%=build/fuzz/fuzz_%)
FUZZ_OBJ     = $(LIB_SRC:src/%.c=build/fuzz/obj/%.o)
FUZZ_SECONDS ?= 600
FUZZ_CHECK_SECONDS = 12

.SECONDARY:

.PHONY: all check check-style style check-unit check-api check-api-pg check-lab check-lab-vm demo install man clean deps \
        deps-test distclean fuzz fuzz-build check-fuzz deps-fuzz

all: build/ferryd

config.mk: configure
	sh tools/deps build
	./configure

build/obj/%.o: src/%.c $(HDR) config.mk
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(HARDEN_CFLAGS) $(CFLAGS) -c -o $@ $<

build/san/%.o: src/%.c $(HDR) config.mk
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -O1 -g $(SAN) -c -o $@ $<

build/ferryd: $(OBJ)
	$(CC) $(HARDEN_CFLAGS) $(CFLAGS) $(HARDEN_LDFLAGS) $(LDFLAGS) -o $@ \
	    $(OBJ) $(DEP_LIBS)

# tools/bench-claims' program: the store's own objects, optimized
build/bench-claims: tools/bench.d/claims.c $(LIB_OBJ)
	$(CC) $(BASE_CFLAGS) $(HARDEN_CFLAGS) $(CFLAGS) $(HARDEN_LDFLAGS) \
	    $(LDFLAGS) -o $@ \
	    $< $(LIB_OBJ) $(DEP_LIBS)

build/unit/%: tests/unit/%.c tests/unit/unit.h $(SAN_OBJ)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -Itests/unit -O1 -g $(SAN) -o $@ $< $(SAN_OBJ) \
	    $(DEP_LIBS)

# clang and libFuzzer come from tools/deps test (order-only: installing
# them rebuilds nothing)
build/fuzz/obj/%.o: src/%.c $(HDR) config.mk | deps-fuzz
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) \
	    $(DEP_LIBS)

fuzz-build: $(FUZZ_BIN)

# Every target FUZZ_SECONDS each; new corpus entries go to build/fuzz/
# corpus/<name>/ (kept between runs), never into the repository.
fuzz: $(FUZZ_BIN)
	@rc=0; for n in $(FUZZ_NAMES); do \
	    sh tests/fuzz/run.sh fuzz $$n $(FUZZ_SECONDS) || rc=1; \
	done; exit $$rc

# Seeds and reproducers as plain inputs, then a short run from the seeds.
# Every target runs even when one fails; make fails if any did.
check-fuzz: $(FUZZ_BIN)
	@rc=0; for n in $(FUZZ_NAMES); do \
	    sh tests/fuzz/run.sh check $$n $(FUZZ_CHECK_SECONDS) || rc=1; \
	done; exit $$rc

deps:
	sh tools/deps build

deps-test:
	sh tools/deps lab-vm

deps-fuzz:
	sh tools/deps test

check: all $(UNIT_BIN) deps-test
	$(MAKE) --no-print-directory check-style
	@# two CPU-bound runs, one per core (each output whole at its end)
	$(MAKE) --no-print-directory -j2 --output-sync=target check-unit \
	    check-fuzz
	@# the API suite waits more than it computes (~40% of one core): the
	@# VM lab runs beside it, niced, so the API's processes keep theirs
	$(MAKE) --no-print-directory -j2 --output-sync=target check-api \
	    check-lab-vm LAB_VM_NICE="nice -n 10"
	$(MAKE) --no-print-directory check-lab

# one code style, .clang-format's (Debian 12's clang-format 14)
STYLE_FILES = $(wildcard src/*.c src/*.h include/ferry/*.h tests/unit/*.c \
	tests/unit/*.h tests/fuzz/*.c tools/bench.d/*.c)
check-style:
	clang-format --dry-run -Werror $(STYLE_FILES)

style:
	clang-format -i $(STYLE_FILES)

check-unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do \
	    echo "== $$t"; \
	    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	        $$t; \
	done

check-api: all
	$(PYTHON) -m pytest -v -p no:cacheprovider --durations=10 tests/api

# the API suite on a PostgreSQL store (tests/api/conftest.py's cluster);
# tests/api/test_store_pg.py runs in check-api too, on a cluster of its own
check-api-pg: all
	FERRY_TEST_STORE=postgresql $(PYTHON) -m pytest -v -p no:cacheprovider \
	    -rs tests/api

check-lab: all
	$(PYTHON) -m pytest -v -p no:cacheprovider -rs --durations=0 tests/lab

# the core lab tests with the hosts as virtual machines (issue 14): shared
# and block live migration, the refusals, the destination's libvirtd killed
# midway.  check runs it beside the API suite, under LAB_VM_NICE.
LAB_VM_TESTS = shared_storage_with_explicit_host or \
	block_migration_copies_the_local_disk or \
	refusals_leave_the_guest_untouched or destination_dies_midway
LAB_VM_NICE =
check-lab-vm: all
	sh tools/deps lab-vm
	FERRY_LAB_HOSTS=vm $(LAB_VM_NICE) $(PYTHON) -m pytest -v \
	    -p no:cacheprovider -rs \
	    --durations=0 tests/lab/test_live_migration.py -k '$(LAB_VM_TESTS)'

# ---- install ------------------------------------------------------------
# Files with paths in them are written to build/inst/ with configure's
# directories filled in: ferry.conf's defaults, the nginx site example (it
# includes the snippets installed here), the systemd unit, the man pages.
# ferry.conf, policy.json and the ops location (its allow list) are
# configuration: an existing one is kept.
MAN_PAGES = build/inst/ferryd.8 build/inst/ferry.conf.5 \
            build/inst/ferry-token.8
INST_FILES = build/inst/ferry.conf build/inst/nginx-site-ferry.conf \
             build/inst/ferryd.service build/inst/ferry.sysusers $(MAN_PAGES)
NGINX_SNIPPET_FILES = nginx/ferry-http.conf nginx/ferry-api-location.conf \
                      nginx/ferry-tls.conf
# the ops location's allow list is the admin's to edit (the snippet says
# so): configuration, kept like ferry.conf
NGINX_OPS_SNIPPET = nginx/ferry-ops-location.conf

SUBST = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
            -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
            -e 's|@LOCALSTATEDIR@|$(LOCALSTATEDIR)|g' \
            -e 's|@RUNSTATEDIR@|$(RUNSTATEDIR)|g' \
            -e 's|@SNIPPETS@|$(NGINX_SNIPPETS)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' \
            -e 's|@VERSION@|$(VERSION)|g'

build/inst/ferry.conf: ferry.conf config.mk
	@mkdir -p $(@D)
	sed -e 's|/etc/ferry/|$(SYSCONFDIR)/ferry/|g' \
	    -e 's|/var/lib/ferry/|$(LOCALSTATEDIR)/lib/ferry/|g' \
	    -e 's|/run/ferry/|$(RUNSTATEDIR)/ferry/|g' ferry.conf > $@

build/inst/nginx-site-ferry.conf: nginx/ferry-site.conf.example config.mk
	@mkdir -p $(@D)
	$(SUBST) $< > $@

build/inst/ferryd.service: tools/systemd/ferryd.service.in config.mk
	@mkdir -p $(@D)
	$(SUBST) $< > $@

build/inst/ferry.sysusers: tools/systemd/ferry.sysusers config.mk
	@mkdir -p $(@D)
	$(SUBST) $< > $@

build/inst/%: doc/%.in config.mk Makefile
	@mkdir -p $(@D)
	$(SUBST) $< > $@

man: $(MAN_PAGES)

# install_keep SRC DST: a configuration file the admin may have edited
install_keep = if [ -e $(2) ]; then \
	    echo "install: keeping $(2) (the new one is not installed)"; \
	else install -m 0644 $(1) $(2); fi

install: all $(INST_FILES)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/ferry $(DESTDIR)$(NGINX_SNIPPETS) \
	    $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSTEMD_UNITDIR) \
	    $(DESTDIR)$(SYSUSERSDIR)
	install -d -m 0750 $(DESTDIR)$(LOCALSTATEDIR)/lib/ferry
	install -m 0755 build/ferryd $(DESTDIR)$(SBINDIR)/ferryd
	install -m 0755 tools/ferry-token $(DESTDIR)$(BINDIR)/ferry-token
	install -m 0755 tools/ferry-cert $(DESTDIR)$(BINDIR)/ferry-cert
	@$(call install_keep,build/inst/ferry.conf,$(DESTDIR)$(SYSCONFDIR)/ferry/ferry.conf)
	@$(call install_keep,policy/policy.json,$(DESTDIR)$(SYSCONFDIR)/ferry/policy.json)
	install -m 0644 $(NGINX_SNIPPET_FILES) $(DESTDIR)$(NGINX_SNIPPETS)/
	@$(call install_keep,$(NGINX_OPS_SNIPPET),$(DESTDIR)$(NGINX_SNIPPETS)/ferry-ops-location.conf)
	install -m 0644 build/inst/nginx-site-ferry.conf \
	    $(DESTDIR)$(DOCDIR)/examples/nginx-site-ferry.conf
	install -m 0644 build/inst/ferryd.service \
	    $(DESTDIR)$(SYSTEMD_UNITDIR)/ferryd.service
	install -m 0644 build/inst/ferry.sysusers \
	    $(DESTDIR)$(SYSUSERSDIR)/ferry.conf
	install -m 0644 build/inst/ferry.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 build/inst/ferryd.8 build/inst/ferry-token.8 \
	    $(DESTDIR)$(MANDIR)/man8/

# make demo LAB=vm: the lab's hosts as virtual machines (issue 14)
LAB = ns
demo:
	FERRY_DEMO_HOSTS=$(LAB) sh tools/demo

clean:
	rm -rf build

distclean: clean
	rm -f config.mk
