#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# DKMS POST_BUILD (see dkms.conf): keep this build's Module.symvers next to the
# built modules, for companion modules' KBUILD_EXTRA_SYMBOLS. Runs in the build dir.
set -eu
cp Module.symvers "$1/Module.symvers"
