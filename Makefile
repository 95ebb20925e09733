# SPDX-License-Identifier: GPL-2.0
# Thin wrapper around kbuild and the scripts/ test bench.
#
#   make              build the modules against $(KDIR)
#   make run          the main job: boot Debian's stock 6.12 kernel in QEMU, stream frames
#                     through a capture stream and a ksalloc allocator (ARGS="-t 5" etc.)
#   make shell        an interactive shell in that guest, both modules loaded
#   make check        THE test command: install, build, boot, test, count
#   make kunit        only the KUnit suites, on the debug test kernel
#   make bench        ksalloc vs kmem_cache, mempool, objpool, and the capture paths, in QEMU (scripts/bench.sh)
#   make docs         Documentation/ to HTML in build/docs/html (scripts/check-docs.sh)
#   make install      modules_install (INSTALL_MOD_PATH, INSTALL_MOD_DIR) + depmod
#   make headers_install  headers and this build's Module.symvers for companion modules
#   make dkms-install copy the sources to /usr/src/ksalloc-$(VERSION) for DKMS
#   make clean

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
KSALLOC_CACHE ?= $(HOME)/.cache/ksalloc
export KSALLOC_CACHE

# The running kernel's build tree when there is one, else the test kernel.
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
		    $(shell $(TOP)/scripts/build-test-kernel.sh --print 2>/dev/null))

VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' $(TOP)/dkms.conf)
KRELEASE = $(shell cat $(KDIR)/include/config/kernel.release)
INSTALL_HDR_PATH ?= /usr/src/ksalloc-$(VERSION)
DKMSDIR ?= /usr/src/ksalloc-$(VERSION)
DKMS_FILES = dkms.conf Kbuild Kconfig scripts/dkms-post-build.sh \
	$(patsubst $(TOP)/%,%,$(wildcard $(addprefix $(TOP)/,include/linux/*.h \
	include/uapi/linux/*.h module/Kbuild module/*.[ch] kunit/Kbuild kunit/*.[ch] \
	samples/Kbuild samples/*.c)))

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(TOP) modules

install: modules
	$(MAKE) -C $(KDIR) M=$(TOP) modules_install
	depmod -a $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KRELEASE)

# <INSTALL_HDR_PATH>/include/{linux,uapi/linux}/ and, after a build,
# <INSTALL_HDR_PATH>/<kernel release>/Module.symvers.
headers_install:
	install -D -m 0644 -t $(DESTDIR)$(INSTALL_HDR_PATH)/include/linux $(TOP)/include/linux/ksalloc.h
	install -D -m 0644 -t $(DESTDIR)$(INSTALL_HDR_PATH)/include/uapi/linux $(TOP)/include/uapi/linux/*.h
	if [ -f $(TOP)/Module.symvers ]; then \
		install -D -m 0644 $(TOP)/Module.symvers $(DESTDIR)$(INSTALL_HDR_PATH)/$(KRELEASE)/Module.symvers; fi

dkms-install:
	cd $(TOP) && for f in $(DKMS_FILES); do install -D -m 0644 $$f $(DESTDIR)$(DKMSDIR)/$$f; done
	chmod 0755 $(DESTDIR)$(DKMSDIR)/scripts/dkms-post-build.sh

run:
	$(TOP)/scripts/run.sh $(ARGS)

shell:
	$(TOP)/scripts/run.sh --shell

check:
	$(TOP)/scripts/check.sh

kunit:
	$(TOP)/scripts/check.sh --kunit

bench:
	$(TOP)/scripts/bench.sh

docs:
	$(TOP)/scripts/check-docs.sh

clean:
	-[ -z "$(KDIR)" ] || $(MAKE) -C $(KDIR) M=$(TOP) clean
	rm -rf $(TOP)/build

.PHONY: all modules install headers_install dkms-install run shell check kunit bench docs clean
