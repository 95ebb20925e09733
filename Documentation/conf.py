# SPDX-License-Identifier: GPL-2.0
#
# Sphinx configuration for ksalloc's two pages, built the way the kernel builds
# its own: with the kernel's kerneldoc and automarkup extensions and its
# scripts/kernel-doc, taken from the Linux 6.12 source tree named by
# $KSALLOC_KERNEL_SRC. scripts/check-docs.sh sets it and runs sphinx-build
# (`make docs`, and a gate of `make check`).

import os
import sys

ksrc = os.environ.get('KSALLOC_KERNEL_SRC')
if not ksrc or not os.path.isfile(os.path.join(ksrc, 'scripts', 'kernel-doc')):
    sys.exit('conf.py: KSALLOC_KERNEL_SRC must name a Linux 6.12 source tree '
             '(run scripts/check-docs.sh)')
sys.path.insert(0, os.path.join(ksrc, 'Documentation', 'sphinx'))

project = 'ksalloc'
copyright = 'The ksalloc authors'
extensions = ['kerneldoc', 'automarkup']

# What the kerneldoc directive runs, and where its paths start.
kerneldoc_bin = os.path.join(ksrc, 'scripts', 'kernel-doc')
kerneldoc_srctree = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))

# As the kernel's Documentation/conf.py.
primary_domain = 'c'
highlight_language = 'none'
exclude_patterns = ['output']

# Every reference must resolve, except to the kernel's own types, which these
# pages do not document.
nitpicky = True
nitpick_ignore_regex = [
    ('c:.*', r'(u8|u16|u32|u64|s32|bool|size_t|__u32|__u64|__s32|file|list_head|device|sg_table|dma_addr_t|dma_data_direction)'),
]

html_theme = 'alabaster'
html_show_sourcelink = False
