/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file plugin.h
 * The plugin ABI.
 *
 * A plugin is a shared object placed in the client's plugins directory
 * (option "plugins.dir"). It exports one descriptor under the name
 * ESTREAMER_PLUGIN_SYMBOL, most simply with ESTREAMER_PLUGIN_DEFINE(). The
 * client loads every plugin present when it starts, loads plugins that
 * appear later and unloads plugins that are removed or replaced, while it
 * runs. All callbacks of a client run in the thread that runs the client, one
 * at a time, so a plugin needs no locking of its own.
 *
 * Loading runs the plugin's code, so the client refuses, before dlopen(), a
 * plugins directory (or an ancestor, unless sticky) and a plugin file that are
 * writable by group or others or owned by a user other than the client's or
 * root, a plugin that is a symbolic link and anything not a regular file.
 *
 * A record is delivered to a plugin when record() returns: the bookmark may
 * then move past it, so a plugin that buffers must make the record durable
 * before returning.
 */
#ifndef ESTREAMER_PLUGIN_H
#define ESTREAMER_PLUGIN_H

#include <stdint.h>

#include <estreamer/common.h>
#include <estreamer/decode.h>

#ifdef __cplusplus
extern "C" {
#endif

/** ABI version a plugin must declare; a plugin declaring another is refused. */
#define ESTREAMER_PLUGIN_ABI_VERSION 1

/** Name of the descriptor a plugin exports. */
#define ESTREAMER_PLUGIN_SYMBOL "estreamer_plugin"

/** What a plugin exports. */
typedef struct estreamer_plugin_descriptor {
	uint32_t abi_version;    /**< ESTREAMER_PLUGIN_ABI_VERSION */
	const char *description; /**< one line */
	const char *author;
	const char *version;
	/**
	 * Optional. Called once after loading.
	 * @param ret_state receives the plugin's state passed to the others
	 * @return 0 on success; otherwise the plugin is unloaded
	 */
	int (*init)(void **ret_state);
	/**
	 * Required. Called for every record delivered while loaded; the record
	 * and everything it points to are borrowed for the call only.
	 * @return 0; a non-zero value is counted as a plugin error
	 */
	int (*record)(void *state, const estreamer_record *rec);
	/** Optional. Called once before unloading. */
	void (*fini)(void *state);
} estreamer_plugin_descriptor;

#if defined(__GNUC__) || defined(__clang__)
#define ESTREAMER_PLUGIN_VISIBLE __attribute__((visibility("default")))
#else
#define ESTREAMER_PLUGIN_VISIBLE
#endif

/**
 * Defines the descriptor of a plugin:
 * ESTREAMER_PLUGIN_DEFINE("counts records", "me", "1.0", my_init, my_record, my_fini);
 */
#define ESTREAMER_PLUGIN_DEFINE(desc, auth, ver, init_fn, record_fn, fini_fn) \
	ESTREAMER_PLUGIN_VISIBLE const estreamer_plugin_descriptor estreamer_plugin = { \
		ESTREAMER_PLUGIN_ABI_VERSION, (desc), (auth), (ver), (init_fn), (record_fn), (fini_fn) \
	}

#ifdef __cplusplus
}
#endif

#endif
