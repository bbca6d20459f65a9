# fuzz/fuzz.mk: libFuzzer targets for the runtime's parsers of untrusted
# bytes (issue #16); the top Makefile includes it.  fuzz/README.md says
# what each target covers.
#
#   make fuzz-rt          clang-14 + libFuzzer builds (ASan, UBSan) in
#                         build/fuzz/rt, each target fuzzed for
#                         FUZZ_SECONDS (600) or FUZZ_RUNS (10000000),
#                         whichever comes first, from fuzz/corpus/<name>/
#                         into build/fuzz/work/<name>
#   make fuzz-replay-rt   gcc builds (ASan, UBSan) in build/fuzz/replay that
#                         replay the corpora once with fuzz/replay_main.c:
#                         seconds, part of make test
#
# FUZZ_TARGETS=... (command line or environment) picks some; logs in
# build/fuzz/report/<name>.log, a line each in build/fuzz/report/summary.txt,
# findings in build/fuzz/report/<name>/.
#
# Each target links only the runtime's C objects it needs, compiled for it
# (never build/runtime's, nor libtorch or Python); -ffunction-sections and
# --gc-sections drop what they do not reach of a file they need for a few
# functions (ts_handler.c's batch loop, ts_request_clear and
# ts_batch_clear; that file is built without ASan's registry of globals,
# see FZR_OBJ_FLAGS).  With libFuzzer's coverage sections that takes lld:
# hence lld-14.

.PHONY: fuzz-rt fuzz-replay-rt fuzz-rt-deps fuzz-rt-clean

FUZZ_RT_ALL   := archive archive_dir manifest model_config json_fast \
	json_tensor image base64 form vision_input tensor kserve
FUZZ_PACKAGES := clang-14 libfuzzer-14-dev lld-14
FUZZ_SECONDS  ?= 600
FUZZ_RUNS     ?= 10000000

# FUZZ_TARGETS from the command line or the environment selects; a
# default another .mk file gives it does not
FUZZ_RT_SEL := $(if $(filter command line environment,$(origin FUZZ_TARGETS)),\
	$(filter $(FUZZ_RT_ALL),$(FUZZ_TARGETS)),$(FUZZ_RT_ALL))

FZR        := $(BUILD)/fuzz
FZR_REPORT := $(FZR)/report

# --- what each target links -------------------------------------------------

FZR_ARCHIVE := ts_archive ts_archive_packed ts_archive_folder \
	ts_archive_entry ts_archive_torch ts_archive_sniff ts_archive_unpack \
	ts_manifest
FZR_JSON    := ts_json ts_json_fast ts_value ts_dtoa ts_pyjson
FZR_IMAGE   := ts_image_decode ts_image_decode_jpeg ts_image_decode_png \
	ts_image_transform ts_image_transform_avx2 ts_image_transform_scratch
FZR_SERVE   := ts_handler_tensor ts_handler ts_kserve ts_kserve_v2 \
	ts_kserve_v2_answer $(FZR_JSON)

# FZR_RT_<name>: runtime/ objects; FZR_FZ_<name>: fuzz/targets/ helpers
FZR_RT_archive      := $(FZR_ARCHIVE)
FZR_FZ_archive      := fuzz_archive_check
FZR_LIBS_archive    := -larchive -ljansson
FZR_MAX_archive     := 65536
FZR_RT_archive_dir  := $(FZR_ARCHIVE)
FZR_FZ_archive_dir  := fuzz_archive_check
FZR_LIBS_archive_dir := -larchive -ljansson
FZR_MAX_archive_dir := 16384
FZR_RT_manifest     := ts_manifest
FZR_LIBS_manifest   := -ljansson
FZR_MAX_manifest    := 8192
FZR_RT_model_config := ts_model_config ts_yaml
FZR_LIBS_model_config := -lyaml
FZR_MAX_model_config := 16384
FZR_RT_json_fast    := $(FZR_JSON)
FZR_LIBS_json_fast  := -ljansson -lm
FZR_MAX_json_fast   := 16384
FZR_RT_json_tensor  := $(FZR_JSON)
FZR_LIBS_json_tensor := -ljansson -lm
FZR_MAX_json_tensor := 16384
FZR_RT_image        := $(FZR_IMAGE)
FZR_LIBS_image      := -ljpeg -lspng -lm -lpthread
FZR_MAX_image       := 65536
FZR_RT_base64       := ts_base64
FZR_MAX_base64      := 8192
FZR_RT_form         := ts_multipart
FZR_MAX_form        := 16384
FZR_RT_vision_input := ts_vision_input ts_multipart ts_base64 \
	ts_image_decode ts_image_decode_jpeg ts_image_decode_png $(FZR_JSON)
FZR_LIBS_vision_input := -ljansson -ljpeg -lspng -lm
FZR_MAX_vision_input := 32768
FZR_RT_tensor       := $(FZR_SERVE)
FZR_FZ_tensor       := fuzz_serve
FZR_LIBS_tensor     := -ljansson -lm
FZR_MAX_tensor      := 16384
FZR_RT_kserve       := $(FZR_SERVE)
FZR_FZ_kserve       := fuzz_serve
FZR_LIBS_kserve     := -ljansson -lm
FZR_MAX_kserve      := 32768

FZR_CFLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer -ffunction-sections \
	-fdata-sections -Wall -Wextra -Wno-unused-parameter \
	-Werror=implicit-function-declaration -I$(TOP)/runtime -I$(TOP)/fuzz/targets
FZR_HEADERS := $(RUNTIME_H) $(wildcard $(TOP)/fuzz/targets/*.h)

# rt: clang and libFuzzer; replay: the top Makefile's CC, no libFuzzer
FZR_rt_CC         := clang-14
FZR_rt_SAN        := -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=undefined
FZR_rt_LD         := -fuse-ld=lld -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined
FZR_rt_DRIVER     :=
FZR_replay_CC     := $(CC)
FZR_replay_SAN    := -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined -Wno-format-truncation
FZR_replay_LD     := -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined
FZR_replay_DRIVER := $(FZR)/replay/targets/replay_main.o

# ts_handler.c is linked for its batch loop (ts_servable_infer_batches),
# ts_request_clear and ts_batch_clear alone: its table of handlers would
# keep the others (and libtorch) if ASan registered its globals, whose
# descriptors --gc-sections cannot drop
$(FZR)/rt/runtime/ts_handler.o: FZR_OBJ_FLAGS := -mllvm -asan-globals=0
$(FZR)/replay/runtime/ts_handler.o: FZR_OBJ_FLAGS := --param asan-globals=0

# the builds, quiet, by the makefile that includes this one
FZR_MAKE = $(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST))

FZR_RUN_ENV := ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

fuzz-rt-deps:
	@$(MAKE) --no-print-directory deps \
	    DEB_PACKAGES="$(DEB_PACKAGES) $(FUZZ_PACKAGES)"


# --- the builds: $(1) is rt or replay, $(2) a target ------------------------

define FZR_FLAVOUR

$(FZR)/$(1)/runtime/%.o: $(TOP)/runtime/%.c $$(FZR_HEADERS)
	@mkdir -p $$(dir $$@)
	$$(FZR_$(1)_CC) $$(FZR_CFLAGS) $$(FZR_$(1)_SAN) $$(FZR_OBJ_FLAGS) \
	    -c $$< -o $$@

$(FZR)/$(1)/targets/%.o: $(TOP)/fuzz/targets/%.c $$(FZR_HEADERS)
	@mkdir -p $$(dir $$@)
	$$(FZR_$(1)_CC) $$(FZR_CFLAGS) $$(FZR_$(1)_SAN) -c $$< -o $$@

$(FZR)/$(1)/targets/replay_main.o: $(TOP)/fuzz/replay_main.c
	@mkdir -p $$(dir $$@)
	$$(FZR_$(1)_CC) $$(FZR_CFLAGS) $$(FZR_$(1)_SAN) -c $$< -o $$@

endef

define FZR_TARGET

$(FZR)/$(1)/$(2): $(FZR)/$(1)/targets/fuzz_$(2).o \
		$(patsubst %,$(FZR)/$(1)/targets/%.o,$(FZR_FZ_$(2))) \
		$(patsubst %,$(FZR)/$(1)/runtime/%.o,$(FZR_RT_$(2))) \
		$(FZR_$(1)_DRIVER)
	$$(FZR_$(1)_CC) $$(FZR_$(1)_LD) $$^ -Wl,--gc-sections \
	    $(FZR_LIBS_$(2)) -o $$@

endef

$(foreach f,rt replay,$(eval $(call FZR_FLAVOUR,$(f))))
$(foreach f,rt replay,$(foreach t,$(FUZZ_RT_ALL),\
	$(eval $(call FZR_TARGET,$(f),$(t)))))


# --- fuzzing ----------------------------------------------------------------

fuzz-rt: fuzz-rt-deps
	@mkdir -p $(FZR_REPORT)
	@$(FZR_MAKE) $(addprefix $(FZR)/rt/,$(FUZZ_RT_SEL)) \
	    > $(FZR_REPORT)/build-rt.log 2>&1 \
	    || { tail -40 $(FZR_REPORT)/build-rt.log; exit 1; }
	@rc=0; $(foreach t,$(FUZZ_RT_SEL),$(TOP)/fuzz/run_target.sh $(t) \
	    $(FZR)/rt/$(t) $(FZR)/work/$(t) $(FZR_REPORT) $(FUZZ_SECONDS) \
	    $(FUZZ_RUNS) $(FZR_MAX_$(t)) || rc=1;) exit $$rc


# --- replay (make test) -----------------------------------------------------

fuzz-replay-rt:
	@mkdir -p $(FZR_REPORT)
	@$(FZR_MAKE) $(addprefix $(FZR)/replay/,$(FUZZ_RT_SEL)) \
	    > $(FZR_REPORT)/build-replay.log 2>&1 \
	    || { tail -40 $(FZR_REPORT)/build-replay.log; exit 1; }
	@for t in $(FUZZ_RT_SEL); do \
	    log=$(FZR_REPORT)/replay-$$t.log; \
	    $(FZR_RUN_ENV) $(FZR)/replay/$$t $(TOP)/fuzz/corpus/$$t \
	        > $$log 2>&1 \
	        || { tail -60 $$log; echo "fuzz-replay-rt: $$t failed"; \
	             exit 1; }; \
	    echo "fuzz-replay-rt: $$t: $$(sed -n \
	        's/^replay: .*: \([0-9]*\) inputs$$/\1/p' $$log) inputs"; \
	done

fuzz-rt-clean:
	rm -rf $(FZR)/rt $(FZR)/replay
