/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading and unloading vfmig.ko through libkmod: vfmig_module_load(),
 * vfmig_module_unload(), vfmig_module_is_loaded() and
 * vfmig_module_default_path() are public (libvfmig.h).
 *
 * With a path, the module's dependencies (modinfo "depends" and "softdep
 * pre:") are loaded by name first through the running kernel's module
 * index; with no path, the vfmig module installed for the running kernel
 * (make install) is loaded by name, as modprobe would.  The default path
 * is $VFMIG_MODULE, else <top>/build/<uname -r>/vfmig.ko for a program at
 * <top>/user/build/ (the CLI in its source tree).
 */
#ifndef VFMIG_KMOD_H
#define VFMIG_KMOD_H

#include "ctx.h"

#endif /* VFMIG_KMOD_H */
