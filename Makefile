# ngx_http_torchserve_module: build, test and run.
#
#   make deps      install the Debian packages we need (only what is missing)
#   make           build/ngx_http_torchserve_module.so for Debian's nginx
#   make test      build everything, make the fixtures, run every test
#   make run       serve the example model on 8080/8081/8082 (foreground)
#   make reload    nginx -s reload of that server; make stop stops it
#   make install   the module into nginx's modules folder, archive_tool and
#                  the torchserve command
#   make deb       build/libnginx-mod-http-torchserve_<version>_<arch>.deb

SHELL      := /bin/bash
TOP        := $(CURDIR)
BUILD      := $(TOP)/build
NGX_SRC    := $(BUILD)/nginx-src
PYTHON     := /usr/bin/python3
NGINX      := /usr/sbin/nginx
# the nginx the tests start (make test-asan: t/asan-nginx); not NGINX,
# which make would export and nginx reads as its inherited sockets
TEST_NGINX_BIN ?= $(NGINX)
MODULE_SO  := $(BUILD)/ngx_http_torchserve_module.so
RUNTIME_A  := $(BUILD)/libts_runtime.a
FIXTURES   := $(BUILD)/fixtures

DEB_PACKAGES := nginx nginx-dev libtorch-dev libjansson-dev libarchive-dev \
	libpcre2-dev libyaml-dev libcurl4-openssl-dev libjpeg62-turbo-dev libspng-dev python3-torch python3-sklearn g++ make curl \
	libpython3.11-dev python3-torchvision python3-pil python3-numpy python3-scipy python3-yaml \
	libtest-base-perl libtext-diff-perl liburi-perl libipc-run-perl \
	libcmocka-dev libjson-pp-perl perl valgrind openssl

CC         ?= gcc
CXX        ?= g++
PYTHON_INC := /usr/include/python3.11
CFLAGS_RT  := -std=gnu11 -O2 -g -fPIC -Wall -Wextra -Wno-unused-parameter \
	-Wno-format-truncation -Werror=implicit-function-declaration -I$(TOP)/runtime \
	-I$(PYTHON_INC) -DTS_PYTHON_DIR='"$(TOP)/runtime/python"'
CXXFLAGS_RT := -std=c++17 -O2 -g -fPIC -Wall -Wno-unused-parameter \
	-I$(TOP)/runtime -I/usr/include/torch/csrc/api/include
# SAN=1 (make test-asan, in build-asan): the sanitizers, in our code only
SAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
ifneq ($(SAN),)
CFLAGS_RT   += $(SAN_FLAGS)
CXXFLAGS_RT += $(SAN_FLAGS)
NGX_SAN_OPTS := --with-cc-opt='$(SAN_FLAGS)' --with-ld-opt='$(SAN_FLAGS)'
endif
RUNTIME_LIBS := -lyaml -ljansson -larchive -ljpeg -lspng -ltorch -ltorch_cpu -lc10 -lstdc++ \
	-lpython3.11 -lm -lpthread

RUNTIME_C   := $(wildcard runtime/*.c)
RUNTIME_CXX := $(wildcard runtime/*.cpp)
RUNTIME_H   := $(wildcard runtime/*.h)
RUNTIME_OBJ := $(patsubst runtime/%.c,$(BUILD)/runtime/%.o,$(RUNTIME_C)) \
	$(patsubst runtime/%.cpp,$(BUILD)/runtime/%.o,$(RUNTIME_CXX))
MODULE_C    := $(wildcard ngx_http_torchserve_module/*.c ngx_http_torchserve_module/*.h)

UNIT_SRC    := $(wildcard runtime/tests/test_*.c)
UNIT_BIN    := $(patsubst runtime/tests/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

ARCHIVE_TOOL   := $(BUILD)/archive_tool
ARCHIVE_TOOL_C := $(wildcard archive_tool/*.c)
ARCHIVE_TOOL_H := $(wildcard archive_tool/*.h)
PREFIX         ?= /usr/local
BINDIR         := $(PREFIX)/bin
# Debian's nginx: --modules-path, which "load_module modules/..." reaches
NGX_MODULES    ?= /usr/lib/nginx/modules
TORCHSERVE     := $(BUILD)/torchserve
TORCHSERVE_C   := $(wildcard torchserve/*.c)
TORCHSERVE_H   := $(wildcard torchserve/*.h)
# archive_tool finds its helper in <bindir>/../share/archive_tool/
TOOLDATADIR    := $(PREFIX)/share/archive_tool
DOCDIR         := $(PREFIX)/share/doc/ngx_http_torchserve_module

.PHONY: deb
.PHONY: all deps module runtime unit unit-valgrind fixtures test test-nginx test-python \
	test-runner test-valgrind test-archive-tool install run reload stop clean

all: $(MODULE_SO) $(ARCHIVE_TOOL) $(TORCHSERVE)

# --- dependencies -----------------------------------------------------------

deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' \
	        || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	else \
	    echo "deps: every package is installed"; \
	fi

# --- runtime (nginx-free) ---------------------------------------------------

runtime: $(RUNTIME_A)

$(BUILD)/runtime/%.o: runtime/%.c $(RUNTIME_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_RT) -c $< -o $@

$(BUILD)/runtime/%.o: runtime/%.cpp $(RUNTIME_H)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_RT) -c $< -o $@

$(RUNTIME_A): $(RUNTIME_OBJ)
	@rm -f $@
	ar rcs $@ $^

# --- nginx module -----------------------------------------------------------

# configure runs once; later builds only recompile what changed
$(NGX_SRC)/objs/Makefile: config
	@rm -rf $(NGX_SRC)
	@mkdir -p $(BUILD)
	cp -r /usr/share/nginx/src $(NGX_SRC)
	cd $(NGX_SRC) && . ./conf_flags && TS_RUNTIME_LIB=$(RUNTIME_A) \
	    ./configure "$${NGX_CONF_FLAGS[@]}" $(NGX_SAN_OPTS) --add-dynamic-module=$(TOP) \
	    > $(BUILD)/configure.log 2>&1 \
	    || { tail -30 $(BUILD)/configure.log; exit 1; }

module: $(MODULE_SO)

$(MODULE_SO): $(NGX_SRC)/objs/Makefile $(RUNTIME_A) $(MODULE_C)
	@# the runtime library is not a dependency nginx's Makefile knows of
	@rm -f $(NGX_SRC)/objs/ngx_http_torchserve_module.so
	$(MAKE) -C $(NGX_SRC) -f objs/Makefile modules
	@# a running nginx keeps the old file: replace it, never rewrite it
	cp $(NGX_SRC)/objs/ngx_http_torchserve_module.so $@.tmp
	mv -f $@.tmp $@

# --- archive_tool (torch-model-archiver) ----------------------------------

# only the writer's objects are pulled from the library (ts_archive_write,
# ts_manifest_write and the plain C ts_pyjson, ts_value, ts_dtoa): no
# libtorch, no jansson here
$(ARCHIVE_TOOL): $(ARCHIVE_TOOL_C) $(ARCHIVE_TOOL_H) $(RUNTIME_H) $(RUNTIME_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_RT) -I$(TOP)/archive_tool $(ARCHIVE_TOOL_C) -o $@ \
	    $(RUNTIME_A) -larchive

# --- the torchserve command (TorchServe's start/stop line) ------------------

# the archive reader's objects only (manifests): libarchive and jansson
$(TORCHSERVE): $(TORCHSERVE_C) $(TORCHSERVE_H) $(RUNTIME_H) $(RUNTIME_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_RT) -I$(TOP)/torchserve \
	    -DTSC_MODULE_DIR='"$(NGX_MODULES)"' $(TORCHSERVE_C) -o $@ \
	    $(RUNTIME_A) -larchive -ljansson -lyaml -lcurl -lpcre2-8

install: $(MODULE_SO) $(ARCHIVE_TOOL) $(TORCHSERVE)
	install -d $(DESTDIR)$(NGX_MODULES)
	install -m 644 $(MODULE_SO) $(DESTDIR)$(NGX_MODULES)/ngx_http_torchserve_module.so
	@# our ts package, found beside the module (torchserve_python/)
	rm -rf $(DESTDIR)$(NGX_MODULES)/torchserve_python
	cd runtime/python && find ts -name '*.py' -exec install -D -m 644 {} \
	    $(DESTDIR)$(NGX_MODULES)/torchserve_python/{} \;
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(TOOLDATADIR)
	install -m 755 $(ARCHIVE_TOOL) $(DESTDIR)$(BINDIR)/archive_tool
	install -m 644 archive_tool/export_torchscript.py \
	    $(DESTDIR)$(TOOLDATADIR)/export_torchscript.py
	@# the seeds' commands say torch-model-archiver: take the name if it is free
	@other=$$(command -v torch-model-archiver 2>/dev/null || true); \
	if [ -z "$$other" ] || [ "$$(readlink -f "$$other")" = \
	        "$$(readlink -f $(DESTDIR)$(BINDIR)/archive_tool)" ]; then \
	    ln -sfn archive_tool $(DESTDIR)$(BINDIR)/torch-model-archiver; \
	    echo "installed $(DESTDIR)$(BINDIR)/torch-model-archiver -> archive_tool"; \
	else \
	    echo "torch-model-archiver is $$other: left alone (use archive_tool)"; \
	fi
	install -m 755 $(TORCHSERVE) $(DESTDIR)$(BINDIR)/ngx-torchserve
	@# the example server, the Grafana dashboard and the commands' help
	install -d $(DESTDIR)$(DOCDIR)
	install -m 644 conf/nginx.conf $(DESTDIR)$(DOCDIR)/nginx.conf.example
	install -m 644 conf/grafana-dashboard.json README.md $(DESTDIR)$(DOCDIR)/
	$(TORCHSERVE) --help > $(DESTDIR)$(DOCDIR)/torchserve.help.txt
	$(ARCHIVE_TOOL) --help > $(DESTDIR)$(DOCDIR)/archive_tool.help.txt
	@# TorchServe's start/stop line says torchserve: the same rule
	@other=$$(command -v torchserve 2>/dev/null || true); \
	if [ -z "$$other" ] || [ "$$(readlink -f "$$other")" = \
	        "$$(readlink -f $(DESTDIR)$(BINDIR)/ngx-torchserve)" ]; then \
	    ln -sfn ngx-torchserve $(DESTDIR)$(BINDIR)/torchserve; \
	    echo "installed $(DESTDIR)$(BINDIR)/torchserve -> ngx-torchserve"; \
	else \
	    echo "torchserve is $$other: left alone (use ngx-torchserve)"; \
	fi

# --- a Debian package, laid out as Debian's nginx modules are --------------

DEB_VERSION ?= 0.1.0

deb: $(MODULE_SO) $(ARCHIVE_TOOL) $(TORCHSERVE)
	packaging/make_deb.sh $(BUILD) $(DEB_VERSION)

# --- tests ------------------------------------------------------------------

$(BUILD)/tests/%: runtime/tests/%.c runtime/tests/fx_tmpdir.h $(RUNTIME_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_RT) $< -o $@ $(RUNTIME_A) -lcmocka $(RUNTIME_LIBS)

# TS_TEST_FIXTURES: the images and references t/images/ makes
unit: $(UNIT_BIN) fixtures
	@set -e; for t in $(UNIT_BIN); do \
	    echo "== $$(basename $$t)"; \
	    TS_TEST_TMP=$(BUILD)/tests/tmp TS_TEST_FIXTURES=$(FIXTURES) $$t; \
	done

unit-valgrind: $(UNIT_BIN) fixtures
	@set -e; for t in $(UNIT_BIN); do \
	    echo "== valgrind $$(basename $$t)"; \
	    TS_TEST_TMP=$(BUILD)/tests/tmp TS_TEST_FIXTURES=$(FIXTURES) valgrind -q --leak-check=full \
	        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 $$t; \
	done

# our ts package, without nginx: Debian's python3 on the fixtures' archives
test-python: fixtures
	TS_PYTHON_FIXTURES=$(FIXTURES) $(PYTHON) -m unittest discover \
	    -s runtime/python/tests -t runtime/python

test-archive-tool: $(ARCHIVE_TOOL)
	ARCHIVE_TOOL=$(ARCHIVE_TOOL) prove archive_tool/tests/

fixtures: $(FIXTURES)/.stamp

$(FIXTURES)/.stamp: t/make_fixtures.py $(wildcard t/python/*.py t/python/*/*.py) \
		$(wildcard t/images/*.py) \
		$(ARCHIVE_TOOL)
	@mkdir -p $(FIXTURES)
	ARCHIVE_TOOL=$(ARCHIVE_TOOL) $(PYTHON) t/make_fixtures.py $(FIXTURES)
	@touch $@

# CPAN's Test::Nginx when installed, else the project's compatible runner;
# found without loading it: loading it stops t/servroot's nginx
HAVE_TEST_NGINX = perl -e 'exit !grep { -f "$$_/Test/Nginx/Socket.pm" } @INC'

test-nginx: $(MODULE_SO) fixtures
	@if $(HAVE_TEST_NGINX); then inc=""; \
	    echo "using CPAN's Test::Nginx"; \
	else inc="-I$(TOP)/t/lib"; echo "using t/lib's Test::Nginx runner"; fi; \
	TEST_NGINX_BINARY=$(TEST_NGINX_BIN) \
	TEST_NGINX_LOAD_MODULES=$(MODULE_SO) \
	TEST_NGINX_FIXTURES=$(FIXTURES) \
	prove $$inc t/*.t
	@# real nginx -t runs that Test::Nginx's blocks cannot express
	TEST_NGINX_BINARY=$(TEST_NGINX_BIN) TEST_NGINX_LOAD_MODULES=$(MODULE_SO) \
	TEST_NGINX_FIXTURES=$(FIXTURES) \
	prove t/nginx-t/
	@# the runner's own tests, when it is ours that runs the suite
	@# (hup.t races old workers on a loaded machine: make test-runner runs it)
	@if ! $(HAVE_TEST_NGINX); then \
	    prove -I$(TOP)/t/lib $(filter-out t/selftest/hup.t,$(wildcard t/selftest/*.t)); fi

test-runner:
	prove -I$(TOP)/t/lib t/selftest/

# the tests of freeing, with nginx under valgrind's memcheck: any report
# (past t/valgrind.supp) fails, as an invalid read would
VALGRIND_T := t/014-batch-unload.t

test-valgrind: $(MODULE_SO) fixtures
	@rm -rf $(BUILD)/valgrind && mkdir -p $(BUILD)/valgrind
	@if $(HAVE_TEST_NGINX); then inc=""; else inc="-I$(TOP)/t/lib"; fi; \
	TEST_NGINX_BINARY=$(TOP)/t/valgrind-nginx \
	TS_VALGRIND_LOG=$(BUILD)/valgrind/nginx TS_TEST_SLOWDOWN=4 \
	TS_TEST_SLOW_ROUNDS=250 TS_TEST_WAIT=30 \
	TEST_NGINX_LOAD_MODULES=$(MODULE_SO) \
	TEST_NGINX_FIXTURES=$(FIXTURES) \
	prove $$inc $(VALGRIND_T)
	@if grep -q '^==[0-9]*== [A-Z]' $(BUILD)/valgrind/nginx.*; then \
	    cat $(BUILD)/valgrind/nginx.*; \
	    echo "valgrind: reports above"; exit 1; \
	fi; echo "valgrind: no report from $$(ls $(BUILD)/valgrind | wc -l) processes"

test: deps
	$(MAKE) all unit test-archive-tool test-python fuzz-replay test-nginx test-valgrind

# --- fuzzing (libFuzzer targets of every parser of untrusted bytes) --------
#   make fuzz          each target for FUZZ_SECONDS (600) or FUZZ_RUNS (10M)
#   make fuzz-replay   every corpus through its target built with gcc and
#                      the sanitizers, no libFuzzer: part of make test
# see fuzz/README.md
include fuzz/fuzz.mk fuzz/fuzz_ngx.mk

.PHONY: fuzz fuzz-replay
fuzz: fuzz-rt fuzz-ngx
fuzz-replay: fuzz-replay-rt fuzz-replay-ngx

# the whole suite again with AddressSanitizer and UBSan (build-asan): the
# runtime, the module, archive_tool, the torchserve command and the unit
# tests built with SAN_FLAGS; Debian's nginx started by t/asan-nginx (the
# sanitizers' runtime preloaded); any report, from any process, fails
ASAN_BUILD := $(TOP)/build-asan
ASAN_LOGS  := $(ASAN_BUILD)/reports
# (no suppression is needed: nothing outside our code trips a check)
ASAN_ENV   := ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:allocator_may_return_null=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

.PHONY: test-asan test-asan-suite
test-asan: deps
	@rm -rf $(ASAN_LOGS) && mkdir -p $(ASAN_LOGS)
	$(ASAN_ENV) $(MAKE) BUILD=$(ASAN_BUILD) SAN=1 all
	$(ASAN_ENV) $(MAKE) BUILD=$(ASAN_BUILD) SAN=1 test-asan-suite
	@if [ -n "$$(ls -A $(ASAN_LOGS))" ]; then \
	    cat $(ASAN_LOGS)/*; echo "test-asan: the sanitizers' reports are above"; exit 1; \
	fi; echo "test-asan: no report from the sanitizers"

# (inside test-asan) nginx through t/asan-nginx; TEST_NGINX_TIMEOUT: our
# code runs 2-3x slower sanitized (libtorch's does not), a block's
# default 3 s is short for the image handlers' largest models
test-asan-suite: unit test-archive-tool
	TS_ASAN_LOG=$(ASAN_LOGS)/nginx TORCHSERVE_NGINX=$(TOP)/t/asan-nginx \
	    TORCHSERVE_BINARY=$(TORCHSERVE) TEST_NGINX_TIMEOUT=9 \
	    $(MAKE) TEST_NGINX_BIN=$(TOP)/t/asan-nginx test-nginx

# --- benchmark (not part of `make test`) ------------------------------------

BENCH_PACKAGES := wrk python3-torchvision python3-flask gunicorn \
	python3-fastapi uvicorn python3-uvloop python3-httptools gnuplot-nox

.PHONY: bench bench-deps bench-preprocess

bench-deps:
	@$(MAKE) --no-print-directory deps \
	    DEB_PACKAGES="$(DEB_PACKAGES) $(BENCH_PACKAGES)"

# wrk against the libtorch floor, nginx, the module, Flask and FastAPI;
# and, on the fixtures' Python handler (mnist.mar), against the Python floor
bench: bench-deps
	$(MAKE) all fixtures
	DURATION_resnet18=$${DURATION_resnet18:-8} \
	    DURATION_resnet18_vision=$${DURATION_resnet18_vision:-8} bench/run.sh

# the image_classifier's preprocessing by stage (decode, the transform, the
# whole) on JPEGs: ours against Pillow + torchvision
$(BUILD)/bench/preprocess: bench/preprocess.c $(RUNTIME_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_RT) $< -o $@ $(RUNTIME_A) -ljpeg -lspng -lm -lpthread

bench-preprocess: $(BUILD)/bench/preprocess
	$(PYTHON) bench/preprocess.py

# --- run the example --------------------------------------------------------

RUN      := $(BUILD)/run
RUN_CONF := $(RUN)/nginx.conf
RUN_NGX  := $(NGINX) -p $(RUN) -c $(RUN_CONF) -e $(RUN)/logs/error.log

# the example server's conf: conf/nginx.conf with the module loaded, so
# that nginx -s reload and -s stop need nothing more on their line
$(RUN_CONF): conf/nginx.conf Makefile
	@mkdir -p $(RUN)/logs $(RUN)/tmp $(RUN)/state
	printf 'load_module %s;\ninclude %s;\n' $(MODULE_SO) $(TOP)/conf/nginx.conf > $@

# starts from the README's state (KEEP_STATE=1: with the last run's API
# registrations, read back from the state file)
run: deps
	$(MAKE) all fixtures $(RUN_CONF)
	@if [ -z "$(KEEP_STATE)" ]; then rm -f $(RUN)/state/registry.json; fi
	@# worker processes write the registry snapshot
	@chown nobody $(RUN)/state 2>/dev/null || true
	@echo "serving $(FIXTURES)/digits.mar on 8080 (inference), 127.0.0.1:8081 (management), 127.0.0.1:8082 (metrics)"
	@echo "try: curl -T $(FIXTURES)/digits_input.json http://127.0.0.1:8080/predictions/digits"
	@echo "reload: make reload (or $(RUN_NGX) -s reload); stop: make stop or Ctrl-C"
	$(RUN_NGX) -g "daemon off;"

reload: $(RUN_CONF)
	$(RUN_NGX) -s reload

stop:
	$(RUN_NGX) -s stop

clean:
	rm -rf $(BUILD)
