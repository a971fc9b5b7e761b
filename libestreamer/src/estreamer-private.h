/* SPDX-License-Identifier: Apache-2.0 */
/* Internal helpers shared by the library's source files and white-box tests. */
#ifndef ESTREAMER_PRIVATE_H
#define ESTREAMER_PRIVATE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <estreamer/client.h>
#include <estreamer/common.h>
#include <estreamer/decode.h>
#include <estreamer/plugin.h>
#include <estreamer/request.h>

static inline uint16_t estreamer__be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t estreamer__be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t estreamer__be64(const uint8_t *p)
{
	return ((uint64_t)estreamer__be32(p) << 32) | estreamer__be32(p + 4);
}

static inline void estreamer__put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void estreamer__put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Formats into errstr when there is one; returns err for tail calls. */
estreamer_error estreamer__fail(char *errstr, size_t size, estreamer_error err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Lower-case hex of n bytes; a new string (free()), NULL on allocation failure. */
char *estreamer__hex(const uint8_t *p, size_t n);

/* Default event types of an extended request (Cisco's newest client). */
size_t estreamer__default_event_types(estreamer_event_type *types, size_t max);

/* Plugin host: loads the .so files of a directory and follows its changes. */
typedef struct estreamer_plugin_host estreamer_plugin_host;

typedef void (*estreamer__host_log)(void *user, estreamer_log_level level, const char *msg);

estreamer_error estreamer__plugin_host_new(const char *dir, estreamer__host_log log, void *log_user,
					   estreamer_plugin_host **ret_host, char *errstr,
					   size_t errstr_size);
/* Applies pending directory changes; never blocks. */
void estreamer__plugin_host_poll(estreamer_plugin_host *host);
/* Hands a record to every loaded plugin; returns how many failed. */
unsigned estreamer__plugin_host_dispatch(estreamer_plugin_host *host, const estreamer_record *rec);
size_t estreamer__plugin_host_count(estreamer_plugin_host *host);
void estreamer__plugin_host_stats(estreamer_plugin_host *host, uint64_t *loads, uint64_t *unloads,
				  uint64_t *errors);
/* The inotify descriptor, for poll(); -1 when none. */
int estreamer__plugin_host_fd(estreamer_plugin_host *host);
/* Unloads every plugin, then reports the final statistics. */
void estreamer__plugin_host_free(estreamer_plugin_host *host, uint64_t *loads, uint64_t *unloads,
				 uint64_t *errors);

#endif
