# fuzz/fuzz_ngx.mk: libFuzzer targets for the nginx-side parsers of
# untrusted bytes (issue #16); the top Makefile includes it.
#
#   make fuzz-ngx          clang-14 + libFuzzer builds, each target fuzzed
#                          for FUZZ_SECONDS (600) or FUZZ_RUNS (10000000),
#                          from fuzz/corpus/<name>/ into build/fuzz/work/
#   make fuzz-replay-ngx   gcc builds (ASan, UBSan) that replay the corpora
#                          once with fuzz/replay_main.c: part of make test
#
#   ngx_props      config.properties (torchserve/): the text, the keys,
#                  and the nginx.conf they give
#   ngx_state      torchserve_state's reader (_state.c) into a zone
#   ngx_mgmt_args  the Management API's query and JSON-body arguments
#                  (_management.c, _register.c, _scale.c)
#
# FUZZ_TARGETS=... (command line or environment) picks some; logs in
# build/fuzz/report/<name>.log, a line each in build/fuzz/report/summary.txt.
#
# The module-side targets link nginx's own core objects.  Debian's
# nginx-dev ships only headers, so nginx's sources come from Debian's
# source package of the installed version (apt-get source --tar-only:
# the upstream tarball, checked against Debian's signed index), through
# a deb-src list of our own under build/fuzz/apt (the system's apt setup
# is not touched); NGX_FUZZ_TARBALL=nginx-1.22.1.tar.gz uses a local one.
# nginx is configured without the module and with only what the parsers
# reach, and only the objects they need are built (FZN_NGX_OBJS).

.PHONY: fuzz-ngx fuzz-replay-ngx fuzz-ngx-deps fuzz-ngx-clean

FUZZ_NGX_ALL      := ngx_props ngx_state ngx_mgmt_args
FUZZ_NGX_PACKAGES := clang-14 libfuzzer-14-dev lld-14
FUZZ_SECONDS      ?= 600
FUZZ_RUNS         ?= 10000000
# libFuzzer's -max_len where its default (4096) is too small: a state file
FZN_MAX_ngx_state := 16384

# FUZZ_TARGETS from the command line or the environment selects; a
# default another .mk file gives it does not
FUZZ_NGX_SEL := $(if $(filter command line environment,$(origin FUZZ_TARGETS)),$(filter $(FUZZ_NGX_ALL),$(FUZZ_TARGETS)),$(FUZZ_NGX_ALL))

FZN        := $(BUILD)/fuzz
FZN_REPORT := $(FZN)/report
FZN_NGX_V  := $(or $(shell dpkg-query -W -f='$${Version}' nginx-dev 2>/dev/null | sed 's/-[^-]*$$//'),1.22.1)
FZN_SRC    := $(FZN)/nginx-$(FZN_NGX_V)
FZN_APT    := $(FZN)/apt
FZN_APT_O  := -o Dir::Etc::SourceList=/dev/null \
	-o Dir::Etc::SourceParts=$(FZN_APT)/parts \
	-o Dir::State::Lists=$(FZN_APT)/lists -o Dir::Cache=$(FZN_APT)/cache \
	-o APT::Sandbox::User=root -q

# a minimal nginx: threads (the module needs them), PCRE2 (allowed_urls),
# debug logging (formatted, then dropped); no module of ours
FZN_NGX_CONF := --with-threads --with-debug --with-pcre \
	$(addprefix --without-http_,charset_module gzip_module ssi_module \
	userid_module access_module auth_basic_module mirror_module \
	autoindex_module geo_module map_module split_clients_module \
	referer_module rewrite_module proxy_module fastcgi_module \
	uwsgi_module scgi_module grpc_module memcached_module \
	limit_conn_module limit_req_module empty_gif_module browser_module \
	upstream_hash_module upstream_ip_hash_module \
	upstream_least_conn_module upstream_random_module \
	upstream_keepalive_module upstream_zone_module) --without-http-cache

# what the targets reach of nginx (the linker's pick from all of it)
FZN_NGX_OBJS := $(addprefix src/core/,nginx.o ngx_array.o ngx_buf.o \
	ngx_conf_file.o ngx_connection.o ngx_cpuinfo.o ngx_crc32.o \
	ngx_cycle.o ngx_file.o ngx_hash.o ngx_inet.o ngx_list.o ngx_log.o \
	ngx_module.o ngx_open_file_cache.o ngx_palloc.o ngx_parse.o \
	ngx_proxy_protocol.o ngx_queue.o ngx_rbtree.o ngx_regex.o \
	ngx_resolver.o ngx_shmtx.o ngx_slab.o ngx_spinlock.o ngx_string.o \
	ngx_syslog.o ngx_thread_pool.o ngx_times.o) \
	$(addprefix src/event/,modules/ngx_epoll_module.o ngx_event.o \
	ngx_event_accept.o ngx_event_posted.o ngx_event_timer.o \
	ngx_event_udp.o) \
	$(addprefix src/http/,ngx_http.o ngx_http_core_module.o \
	ngx_http_parse.o ngx_http_request.o ngx_http_request_body.o \
	ngx_http_script.o ngx_http_special_response.o ngx_http_variables.o) \
	$(addprefix src/os/unix/,ngx_alloc.o ngx_channel.o ngx_daemon.o \
	ngx_dlopen.o ngx_errno.o ngx_files.o ngx_linux_init.o \
	ngx_linux_sendfile_chain.o ngx_posix_init.o ngx_process.o \
	ngx_process_cycle.o ngx_readv_chain.o ngx_recv.o ngx_send.o \
	ngx_setaffinity.o ngx_setproctitle.o ngx_shmem.o ngx_socket.o \
	ngx_thread_cond.o ngx_thread_id.o ngx_thread_mutex.o ngx_time.o \
	ngx_udp_recv.o ngx_udp_send.o ngx_udp_sendmsg_chain.o \
	ngx_writev_chain.o)

# the module's files the targets link; what they do not reach is dropped
# (--gc-sections), so that the runtime and libtorch stay out
FZN_MOD := $(addprefix ngx_http_torchserve_,state registry index params \
	reply wait download token model_conf kserve management register scale)
# and of the runtime, plain C: the UTF-8 decoder the answers use, the
# device names the configuration checks, the stale-folder sweep
FZN_RT := ts_pyjson ts_value ts_dtoa ts_device ts_archive_unpack
FZN_PROPS := torchserve_props torchserve_settings torchserve_conf \
	torchserve_fetch ts_archive_unpack

# see fuzz/targets/ngx_harness.c for what each stands in for
FZN_WRAPS := -Wl,--wrap=ngx_thread_task_post \
	-Wl,--wrap=ngx_http_finalize_request \
	-Wl,--wrap=ngx_http_torchserve_download -Wl,--wrap=ts_archive_open \
	-Wl,--wrap=ts_archive_free -Wl,--wrap=ts_servable_check

FZN_CFLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer -ffunction-sections \
	-fdata-sections -Wall -Wno-unused-parameter \
	-Werror=implicit-function-declaration
FZN_LIBS   := -ljansson -lcurl -lpcre2-8 -lpthread

# clang: libFuzzer's coverage in nginx too; UBSan in our code only
FZN_clang_CC      := clang-14
FZN_clang_NGX_SAN := -fsanitize=fuzzer-no-link,address
FZN_clang_SAN     := -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=undefined
FZN_clang_LD      := -fuse-ld=lld -fsanitize=fuzzer,address,undefined
FZN_clang_DRIVER  :=
FZN_gcc_CC        := gcc
FZN_gcc_NGX_SAN   := -fsanitize=address
FZN_gcc_SAN       := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FZN_gcc_LD        := -fsanitize=address,undefined
FZN_gcc_DRIVER    := $(FZN)/gcc/o/replay_main.o

# the builds, quiet, by the makefile that includes this one
FZN_MAKE = $(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST))

FZN_RUN_ENV := ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

fuzz-ngx-deps:
	@$(MAKE) --no-print-directory deps \
	    DEB_PACKAGES="$(DEB_PACKAGES) $(FUZZ_NGX_PACKAGES)"


# --- nginx's sources --------------------------------------------------------

$(FZN_SRC)/configure:
	@mkdir -p $(FZN)/dl
	@if [ -n "$(NGX_FUZZ_TARBALL)" ]; then \
	    cp "$(NGX_FUZZ_TARBALL)" $(FZN)/dl/nginx_$(FZN_NGX_V).orig.tar.gz; \
	else \
	    rm -rf $(FZN_APT) && mkdir -p $(FZN_APT)/parts \
	        $(FZN_APT)/lists/partial $(FZN_APT)/cache/archives/partial; \
	    for f in /etc/apt/sources.list.d/*.sources; do \
	        [ -f "$$f" ] && sed -E 's/^Types:.*/Types: deb-src/' "$$f" \
	            > $(FZN_APT)/parts/$$(basename "$$f"); \
	    done; \
	    if [ -f /etc/apt/sources.list ]; then \
	        sed -n 's/^deb /deb-src /p' /etc/apt/sources.list \
	            > $(FZN_APT)/parts/sources.list; \
	    fi; \
	    apt-get $(FZN_APT_O) update > $(FZN)/dl/apt.log 2>&1 \
	        || { tail -20 $(FZN)/dl/apt.log; exit 1; }; \
	    cd $(FZN)/dl && { apt-get $(FZN_APT_O) source --download-only \
	        --tar-only "nginx=$$(dpkg-query -W -f='$${Version}' nginx-dev)" \
	        || apt-get $(FZN_APT_O) source --download-only --tar-only nginx; \
	    } >> $(FZN)/dl/apt.log 2>&1; \
	fi
	@[ -f $(FZN)/dl/nginx_$(FZN_NGX_V).orig.tar.gz ] || { \
	    tail -20 $(FZN)/dl/apt.log; \
	    echo "fuzz: no nginx_$(FZN_NGX_V).orig.tar.gz from Debian's source" \
	         "package: give one, make NGX_FUZZ_TARBALL=nginx-$(FZN_NGX_V).tar.gz"; \
	    exit 1; }
	@rm -rf $(FZN_SRC)
	tar xzf $(FZN)/dl/nginx_$(FZN_NGX_V).orig.tar.gz -C $(FZN)
	@touch $@


# --- one build per compiler: clang (libFuzzer), gcc (replay) ---------------

# $(1): clang or gcc
define FZN_FLAVOUR

FZN_$(1)_NGX  := $(FZN)/ngx-src-$(1)
FZN_$(1)_INCS := $$(addprefix -I$$(FZN_$(1)_NGX)/,src/core src/event \
	src/event/modules src/os/unix objs src/http src/http/modules) \
	-I$(TOP)/runtime -I$(TOP)/ngx_http_torchserve_module \
	-I$(TOP)/fuzz/targets -I$(TOP)/torchserve
FZN_$(1)_NGX_O := $$(addprefix $$(FZN_$(1)_NGX)/objs/,$$(filter-out \
	src/core/nginx.o,$$(FZN_NGX_OBJS))) $(FZN)/$(1)/o/nginx-nomain.o

# configure runs its checks without the sanitizers (5 s, not 30)
$$(FZN_$(1)_NGX)/objs/Makefile: $(FZN_SRC)/configure
	@rm -rf $$(FZN_$(1)_NGX)
	@cp -r $(FZN_SRC) $$(FZN_$(1)_NGX)
	cd $$(FZN_$(1)_NGX) && ./configure --with-cc=$$(FZN_$(1)_CC) \
	    --with-cc-opt=-O1 $$(FZN_NGX_CONF) > $(FZN)/configure-$(1).log 2>&1 \
	    || { tail -30 $(FZN)/configure-$(1).log; exit 1; }

# nginx's objects, with main() renamed: libFuzzer's or the replay's runs
$(FZN)/$(1)/o/nginx-nomain.o: $$(FZN_$(1)_NGX)/objs/Makefile
	@mkdir -p $$(dir $$@)
	$$(MAKE) -C $$(FZN_$(1)_NGX) -f objs/Makefile \
	    CFLAGS="-pipe -g -O1 -fno-omit-frame-pointer -ffunction-sections -fdata-sections -W -Wall -Wpointer-arith -Wno-unused-parameter $$(FZN_$(1)_NGX_SAN)" \
	    $$(addprefix objs/,$$(FZN_NGX_OBJS))
	objcopy --redefine-sym main=ngx_fuzz_nginx_main \
	    $$(FZN_$(1)_NGX)/objs/src/core/nginx.o $$@

$(FZN)/$(1)/o/%.o: $(TOP)/ngx_http_torchserve_module/%.c \
		$(TOP)/ngx_http_torchserve_module/ngx_http_torchserve_module.h \
		$(FZN)/$(1)/o/nginx-nomain.o
	$$(FZN_$(1)_CC) $$(FZN_CFLAGS) $$(FZN_$(1)_SAN) $$(FZN_$(1)_INCS) \
	    -c $$< -o $$@

$(FZN)/$(1)/o/ngx_%.o: $(TOP)/fuzz/targets/ngx_%.c \
		$(TOP)/fuzz/targets/ngx_harness.h \
		$(TOP)/ngx_http_torchserve_module/ngx_http_torchserve_module.h \
		$(FZN)/$(1)/o/nginx-nomain.o
	$$(FZN_$(1)_CC) $$(FZN_CFLAGS) $$(FZN_$(1)_SAN) $$(FZN_$(1)_INCS) \
	    -c $$< -o $$@

$(FZN)/$(1)/o/ts_%.o: $(TOP)/runtime/ts_%.c $(wildcard $(TOP)/runtime/*.h)
	@mkdir -p $$(dir $$@)
	$$(FZN_$(1)_CC) $$(FZN_CFLAGS) $$(FZN_$(1)_SAN) -I$(TOP)/runtime \
	    -c $$< -o $$@

$(FZN)/$(1)/o/torchserve_%.o: $(TOP)/torchserve/torchserve_%.c \
		$(TOP)/torchserve/torchserve.h
	@mkdir -p $$(dir $$@)
	$$(FZN_$(1)_CC) $$(FZN_CFLAGS) $$(FZN_$(1)_SAN) -I$(TOP)/torchserve \
	    -I$(TOP)/runtime -c $$< -o $$@

$(FZN)/$(1)/o/ngx_props.o: $(TOP)/fuzz/targets/ngx_props.c \
		$(TOP)/torchserve/torchserve.h
	@mkdir -p $$(dir $$@)
	$$(FZN_$(1)_CC) $$(FZN_CFLAGS) $$(FZN_$(1)_SAN) -I$(TOP)/torchserve \
	    -I$(TOP)/runtime -c $$< -o $$@

$(FZN)/$(1)/o/replay_main.o: $(TOP)/fuzz/replay_main.c
	@mkdir -p $$(dir $$@)
	$$(FZN_$(1)_CC) $$(FZN_CFLAGS) $$(FZN_$(1)_SAN) -c $$< -o $$@

$(FZN)/$(1)/ngx_props: $(FZN)/$(1)/o/ngx_props.o \
		$(patsubst %,$(FZN)/$(1)/o/%.o,$(FZN_PROPS)) $$(FZN_$(1)_DRIVER)
	$$(FZN_$(1)_CC) $$(FZN_$(1)_LD) $$^ -Wl,--gc-sections $(FZN_LIBS) -o $$@

$(FZN)/$(1)/ngx_%: $(FZN)/$(1)/o/ngx_%.o $(FZN)/$(1)/o/ngx_harness.o \
		$(patsubst %,$(FZN)/$(1)/o/%.o,$(FZN_MOD) $(FZN_RT)) \
		$$(FZN_$(1)_DRIVER) $(FZN)/$(1)/o/nginx-nomain.o
	$$(FZN_$(1)_CC) $$(FZN_$(1)_LD) $$(filter-out %/nginx-nomain.o,$$^) \
	    $$(FZN_$(1)_NGX_O) -Wl,--gc-sections $(FZN_WRAPS) $(FZN_LIBS) -o $$@

endef

$(eval $(call FZN_FLAVOUR,clang))
$(eval $(call FZN_FLAVOUR,gcc))


# --- fuzzing ----------------------------------------------------------------

# -close_fd_mask=2 is not used: ngx_props sends the command's warnings
# elsewhere itself, and a target's own finding message goes to stderr
fuzz-ngx: fuzz-ngx-deps
	@mkdir -p $(FZN_REPORT)
	@$(FZN_MAKE) $(addprefix $(FZN)/clang/,$(FUZZ_NGX_SEL)) \
	    > $(FZN_REPORT)/build-clang.log 2>&1 \
	    || { tail -40 $(FZN_REPORT)/build-clang.log; exit 1; }
	@rc=0; $(foreach t,$(FUZZ_NGX_SEL),$(TOP)/fuzz/run_target.sh $(t) \
	    $(FZN)/clang/$(t) $(FZN)/work/$(t) $(FZN_REPORT) $(FUZZ_SECONDS) \
	    $(FUZZ_RUNS) $(FZN_MAX_$(t)) || rc=1;) exit $$rc


# --- replay (make test) -----------------------------------------------------

fuzz-replay-ngx:
	@mkdir -p $(FZN_REPORT)
	@$(FZN_MAKE) $(addprefix $(FZN)/gcc/,$(FUZZ_NGX_SEL)) \
	    > $(FZN_REPORT)/build-gcc.log 2>&1 \
	    || { tail -40 $(FZN_REPORT)/build-gcc.log; exit 1; }
	@for t in $(FUZZ_NGX_SEL); do \
	    $(FZN_RUN_ENV) $(FZN)/gcc/$$t $(TOP)/fuzz/corpus/$$t \
	        > $(FZN_REPORT)/replay-$$t.log 2>&1 \
	        || { tail -60 $(FZN_REPORT)/replay-$$t.log; \
	             echo "fuzz-replay-ngx: $$t failed"; exit 1; }; \
	    echo "fuzz-replay-ngx: $$(tail -1 $(FZN_REPORT)/replay-$$t.log)"; \
	done

fuzz-ngx-clean:
	rm -rf $(FZN)/clang $(FZN)/gcc $(FZN)/ngx-src-clang $(FZN)/ngx-src-gcc
