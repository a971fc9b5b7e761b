/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file event.h
 * A MozDef event in memory: its fields, its validation per type, and its
 * JSON form.
 *
 * A generic event (and the compliance, asset-hint and RRA events built on it)
 * becomes, in this key order: `timestamp`, `processid`, `processname`,
 * `hostname`, `category`, `source`, `details`, `summary`, `tags`, `severity`.
 * `timestamp` is the one set with mozdef_event_set_timestamp(), passed through
 * unchanged, or else the time of serialization in UTC as
 * `YYYY-MM-DDTHH:MM:SS.ffffff+00:00`. `hostname` defaults to the host's fully
 * qualified name (the short name when that is `localhost.localdomain`),
 * `processname` to the program name as invoked, `processid` to getpid();
 * each can be overridden. `source` is `null` until set.
 *
 * A vulnerability event is a whole document set with
 * mozdef_event_set_document(): nothing is added to it.
 *
 * Events are not thread-safe; one event may be serialized or sent from one
 * thread at a time.
 */
#ifndef MOZDEF_EVENT_H
#define MOZDEF_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json_object.h>

#include <mozdef/common.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mozdef_event mozdef_event;

/** The kind of event; the numbers are those of the reference client. */
typedef enum mozdef_event_type {
	MOZDEF_EVENT_GENERIC = 1,       /**< default category `event`; needs a summary */
	MOZDEF_EVENT_COMPLIANCE = 2,    /**< default category `complianceitems`; needs a summary and a compliance item in details */
	MOZDEF_EVENT_VULNERABILITY = 3, /**< a whole vulnerability document */
	MOZDEF_EVENT_ASSET_HINT = 4,    /**< default category `asset_hint`; needs a summary and non-empty details */
	MOZDEF_EVENT_RRA = 5,           /**< default category `rra_data`; needs a summary, that category and non-empty details */
} mozdef_event_type;

/** Severity; the numbers are those of the reference client, not syslog's. */
typedef enum mozdef_severity {
	MOZDEF_SEVERITY_DEBUG = 0,
	MOZDEF_SEVERITY_INFO = 1,       /**< the default */
	MOZDEF_SEVERITY_NOTICE = 2,
	MOZDEF_SEVERITY_WARNING = 3,
	MOZDEF_SEVERITY_ERROR = 4,
	MOZDEF_SEVERITY_CRITICAL = 5,
	MOZDEF_SEVERITY_ALERT = 6,
	MOZDEF_SEVERITY_EMERGENCY = 7,
} mozdef_severity;

/* ---- life cycle -------------------------------------------------------------------- */

/**
 * A new, empty event of @p type with the defaults described above.
 * @return a new event; release with mozdef_event_free(); NULL for an unknown
 *         type or when memory runs out
 */
MOZDEF_EXPORT mozdef_event *mozdef_event_new(mozdef_event_type type);

/** Release @p ev; NULL is accepted. */
MOZDEF_EXPORT void mozdef_event_free(mozdef_event *ev);

/** @return the type given to mozdef_event_new(). */
MOZDEF_EXPORT mozdef_event_type mozdef_event_get_type(const mozdef_event *ev);

/* ---- severity names ------------------------------------------------------------------ */

/** @return "DEBUG" … "EMERGENCY"; static; NULL for a value out of range. */
MOZDEF_EXPORT const char *mozdef_severity_to_string(mozdef_severity sev);

/**
 * Parse one of the eight upper-case names DEBUG, INFO, NOTICE, WARNING, ERROR,
 * CRITICAL, ALERT, EMERGENCY (exact match).
 * @return MOZDEF_OK, or MOZDEF_ERR_INVALID_ARG for any other string
 *         (@p ret_sev is then untouched)
 */
MOZDEF_EXPORT mozdef_error mozdef_severity_from_string(const char *name, mozdef_severity *ret_sev);

/**
 * @return the syslog priority level (LOG_DEBUG … LOG_EMERG, 7 … 0) of
 *         @p sev, or -1 for a value out of range.
 */
MOZDEF_EXPORT int mozdef_severity_to_syslog(mozdef_severity sev);

/* ---- fields (string arguments are copied; NULL clears where noted) ---------------------- */

/** Set the summary; NULL clears it. @return MOZDEF_OK, MOZDEF_ERR_NOMEM */
MOZDEF_EXPORT mozdef_error mozdef_event_set_summary(mozdef_event *ev, const char *summary);
/** @return the summary or NULL; borrowed, valid until changed. */
MOZDEF_EXPORT const char *mozdef_event_get_summary(const mozdef_event *ev);

/** Set the category; NULL restores the type's default. @return MOZDEF_OK, MOZDEF_ERR_NOMEM */
MOZDEF_EXPORT mozdef_error mozdef_event_set_category(mozdef_event *ev, const char *category);
/** @return the category; borrowed, valid until changed. */
MOZDEF_EXPORT const char *mozdef_event_get_category(const mozdef_event *ev);

/** Set the source; NULL makes it JSON null again. @return MOZDEF_OK, MOZDEF_ERR_NOMEM */
MOZDEF_EXPORT mozdef_error mozdef_event_set_source(mozdef_event *ev, const char *source);
/** @return the source or NULL; borrowed, valid until changed. */
MOZDEF_EXPORT const char *mozdef_event_get_source(const mozdef_event *ev);

/** Override the hostname; NULL restores the default. @return MOZDEF_OK, MOZDEF_ERR_NOMEM */
MOZDEF_EXPORT mozdef_error mozdef_event_set_hostname(mozdef_event *ev, const char *hostname);
/** @return the hostname; borrowed, valid until changed. Never NULL. */
MOZDEF_EXPORT const char *mozdef_event_get_hostname(const mozdef_event *ev);

/** Override the process name; NULL restores the default. @return MOZDEF_OK, MOZDEF_ERR_NOMEM */
MOZDEF_EXPORT mozdef_error mozdef_event_set_processname(mozdef_event *ev, const char *processname);
/** @return the process name; borrowed, valid until changed. Never NULL. */
MOZDEF_EXPORT const char *mozdef_event_get_processname(const mozdef_event *ev);

/** Override the process id (sent as a JSON integer). */
MOZDEF_EXPORT void mozdef_event_set_processid(mozdef_event *ev, int64_t pid);
/** @return the process id. */
MOZDEF_EXPORT int64_t mozdef_event_get_processid(const mozdef_event *ev);

/**
 * Fix the timestamp, sent unchanged; NULL means "the time of serialization".
 * @return MOZDEF_OK, MOZDEF_ERR_NOMEM
 */
MOZDEF_EXPORT mozdef_error mozdef_event_set_timestamp(mozdef_event *ev, const char *timestamp);
/** @return the fixed timestamp or NULL; borrowed. */
MOZDEF_EXPORT const char *mozdef_event_get_timestamp(const mozdef_event *ev);

/** Set the severity. @return MOZDEF_OK, MOZDEF_ERR_INVALID_ARG for a value out of range */
MOZDEF_EXPORT mozdef_error mozdef_event_set_severity(mozdef_event *ev, mozdef_severity sev);
/** @return the severity (MOZDEF_SEVERITY_INFO unless set). */
MOZDEF_EXPORT mozdef_severity mozdef_event_get_severity(const mozdef_event *ev);

/** Append a tag. @return MOZDEF_OK, MOZDEF_ERR_INVALID_ARG, MOZDEF_ERR_NOMEM */
MOZDEF_EXPORT mozdef_error mozdef_event_add_tag(mozdef_event *ev, const char *tag);
/** @return the tags as a JSON array; borrowed, valid while @p ev lives. */
MOZDEF_EXPORT struct json_object *mozdef_event_get_tags(const mozdef_event *ev);

/* ---- details --------------------------------------------------------------------------- */

/**
 * Replace the details with @p details, a JSON object.
 * @param details ownership is taken on success
 * @return MOZDEF_OK, MOZDEF_ERR_INVALID_ARG if @p details is not an object
 */
MOZDEF_EXPORT mozdef_error mozdef_event_set_details(mozdef_event *ev, struct json_object *details);

/** @return the details object; borrowed, valid until replaced. Never NULL. */
MOZDEF_EXPORT struct json_object *mozdef_event_get_details(const mozdef_event *ev);

/**
 * Set one value in the details by a dotted @p path (`policy.level`), creating
 * missing intermediate objects.
 * @param value ownership is taken on success (NULL stores JSON null)
 * @return MOZDEF_OK; MOZDEF_ERR_INVALID_ARG for an empty path or component, or
 *         when a component names a value that is not an object (errstr says which)
 */
MOZDEF_EXPORT mozdef_error mozdef_event_set_detail(mozdef_event *ev, const char *path, struct json_object *value,
                                                   char *errstr, size_t errstr_size);

/** mozdef_event_set_detail() with a string value (copied). */
MOZDEF_EXPORT mozdef_error mozdef_event_set_detail_string(mozdef_event *ev, const char *path, const char *value,
                                                          char *errstr, size_t errstr_size);

/** mozdef_event_set_detail() with an integer value. */
MOZDEF_EXPORT mozdef_error mozdef_event_set_detail_int(mozdef_event *ev, const char *path, int64_t value,
                                                       char *errstr, size_t errstr_size);

/** mozdef_event_set_detail() with a boolean value. */
MOZDEF_EXPORT mozdef_error mozdef_event_set_detail_bool(mozdef_event *ev, const char *path, bool value,
                                                        char *errstr, size_t errstr_size);

/**
 * The value at a dotted @p path in the details.
 * @return borrowed, valid until the details change; NULL if absent
 */
MOZDEF_EXPORT struct json_object *mozdef_event_get_detail(const mozdef_event *ev, const char *path);

/* ---- vulnerability documents ----------------------------------------------------------- */

/**
 * Replace the whole document of a vulnerability event.
 * @param doc a JSON object; ownership is taken on success
 * @return MOZDEF_OK; MOZDEF_ERR_INVALID_ARG if @p ev is not a vulnerability
 *         event or @p doc is not an object
 */
MOZDEF_EXPORT mozdef_error mozdef_event_set_document(mozdef_event *ev, struct json_object *doc);

/* ---- validation and JSON --------------------------------------------------------------- */

/**
 * Check the event against the rules of its type:
 * - generic: a non-empty summary;
 * - compliance: a summary; details with `target`, `policy`, `check`,
 *   `compliance`, `link`, `utctimestamp`; `policy` with `level`, `name`,
 *   `url`; `check` with `description`, `location`, `name`, `test`;
 *   `check.test` with `type`, `value`;
 * - vulnerability: a document with `utctimestamp`, `description`, `vuln`,
 *   `asset`, `sourcename`; `asset` with `assetid`, `ipv4address`, `hostname`,
 *   `macaddress`; `vuln` with `status`, `vulnid`, `title`, `discovery_time`,
 *   `age_days`, `known_malware`, `known_exploits`, `cvss`, `cves`;
 * - asset hint: a summary and non-empty details;
 * - RRA: a summary, category `rra_data` and non-empty details.
 * @return MOZDEF_OK, or MOZDEF_ERR_INVALID with the first failure in errstr,
 *         naming the key by its dotted path (e.g. "details.policy.level: missing")
 */
MOZDEF_EXPORT mozdef_error mozdef_event_validate(const mozdef_event *ev, char *errstr, size_t errstr_size);

/**
 * Validate and build the event's JSON object.
 * @param ret_obj a new reference; release with json_object_put()
 * @return MOZDEF_OK, MOZDEF_ERR_INVALID (errstr names the key), MOZDEF_ERR_NOMEM
 */
MOZDEF_EXPORT mozdef_error mozdef_event_to_json(const mozdef_event *ev, struct json_object **ret_obj,
                                                char *errstr, size_t errstr_size);

/**
 * Validate and serialize the event as one line of compact JSON (no newline,
 * `/` not escaped), as sent over HTTP, syslog and SQS.
 * @param ret_text a new NUL-terminated string; release with free()
 * @param ret_len  if not NULL, the length of @p ret_text
 * @return MOZDEF_OK, MOZDEF_ERR_INVALID (errstr names the key), MOZDEF_ERR_NOMEM
 */
MOZDEF_EXPORT mozdef_error mozdef_event_serialize(const mozdef_event *ev, char **ret_text, size_t *ret_len,
                                                  char *errstr, size_t errstr_size);

#ifdef __cplusplus
}
#endif

#endif
