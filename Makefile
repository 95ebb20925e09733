# SPDX-License-Identifier: GPL-2.0
# Thin wrapper around kbuild and the scripts/ test bench.
#
#   make              build the modules against $(KDIR)
#   make run          the main job: boot Debian's stock 6.12 kernel in QEMU, stream frames
#                     through a capture stream and a ksalloc allocator (ARGS="-t 5" etc.)
#   make shell        an interactive shell in that guest, both modules loaded
#   make check        THE test command: install, build, boot, test, count
#   make kunit        only the KUnit suites, on the debug test kernel
#   make clean

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
KSALLOC_CACHE ?= $(HOME)/.cache/ksalloc
export KSALLOC_CACHE

# The running kernel's build tree when there is one, else the test kernel.
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
		    $(shell $(TOP)/scripts/build-test-kernel.sh --print 2>/dev/null))

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(TOP) modules

run:
	$(TOP)/scripts/run.sh $(ARGS)

shell:
	$(TOP)/scripts/run.sh --shell

check:
	$(TOP)/scripts/check.sh

kunit:
	$(TOP)/scripts/check.sh --kunit

clean:
	-[ -z "$(KDIR)" ] || $(MAKE) -C $(KDIR) M=$(TOP) clean
	rm -rf $(TOP)/build

.PHONY: all modules run shell check kunit clean
