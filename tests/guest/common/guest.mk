# Shared build rules for deja's guest programs (tests, bench, examples).
#
# The including Makefile sets:
#   PROGRAMS  names of programs; NAME.elf is built from NAME.c plus, when they
#             exist, NAME_asm.S and the files listed in NAME_EXTRA
#   BUILD     output directory for the ELFs (objects go to $(BUILD)/obj)
# and then includes this file.  Builds are reproducible: no debug info, no
# build-id, source paths mapped to the repository root, fixed link order.

COMMON  := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
REPO    := $(abspath $(COMMON)/../../..)
CROSS   ?= riscv64-unknown-elf-
CC      := $(CROSS)gcc
OBJDUMP := $(CROSS)objdump

ARCH_FLAGS := -march=rv64imac_zicsr_zifencei -mabi=lp64 -mcmodel=medany
CFLAGS  := $(ARCH_FLAGS) -O2 -nostdlib -ffreestanding -fno-common \
           -fno-stack-protector -fno-pic -fno-asynchronous-unwind-tables \
           -fno-unwind-tables -fno-ident -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
           -ffile-prefix-map=$(REPO)=. -I$(COMMON) $(EXTRA_CFLAGS)
LDFLAGS := $(ARCH_FLAGS) -nostdlib -static -T $(COMMON)/link.ld \
           -Wl,--build-id=none -Wl,--no-warn-rwx-segments

COMMON_SRCS := start.S trap.c test.c uart.c printf.c lib.c probes.S
COMMON_OBJS := $(addprefix $(BUILD)/obj/common/,$(addsuffix .o,$(basename $(COMMON_SRCS))))
COMMON_HDRS := $(wildcard $(COMMON)/*.h)

ELFS := $(addprefix $(BUILD)/,$(addsuffix .elf,$(PROGRAMS)))

.PHONY: all clean disasm
all: $(ELFS)

$(BUILD)/obj/common/%.o: $(COMMON)/%.c $(COMMON_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/common/%.o: $(COMMON)/%.S $(COMMON_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.c $(COMMON_HDRS) $(wildcard *.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.S $(COMMON_HDRS) $(wildcard *.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# objects of one program: NAME.c, NAME_asm.S if present, NAME_EXTRA
prog_objs = $(BUILD)/obj/$(1).o \
            $(if $(wildcard $(1)_asm.S),$(BUILD)/obj/$(1)_asm.o) \
            $(addprefix $(BUILD)/obj/,$(addsuffix .o,$(basename $($(1)_EXTRA))))

.SECONDEXPANSION:
$(BUILD)/%.elf: $$(call prog_objs,$$*) $(COMMON_OBJS) $(COMMON)/link.ld
	$(CC) $(LDFLAGS) -o $@ $(call prog_objs,$*) $(COMMON_OBJS)

disasm: $(ELFS)
	for f in $(ELFS); do $(OBJDUMP) -d $$f > $${f%.elf}.dis; done

clean:
	rm -rf $(BUILD)/obj $(BUILD)/*.dis

# Rebuild everything into a scratch directory and compare with $(BUILD).
.PHONY: check-reproducible
check-reproducible:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(MAKE) --no-print-directory -s BUILD="$$tmp" all >/dev/null && \
	status=0 && for p in $(PROGRAMS); do \
	  if cmp -s "$$tmp/$$p.elf" "$(BUILD)/$$p.elf"; then echo "same      $$p.elf"; \
	  else echo "DIFFERENT $$p.elf"; status=1; fi; \
	done && exit $$status
