/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file decode.h
 * eStreamer message framing and record decoding.
 *
 * Every length on the wire is checked against the bytes actually held: a
 * short or inconsistent input yields ESTREAMER_ERR_TRUNCATED or
 * ESTREAMER_ERR_MALFORMED with a description in @c errstr, never a read past
 * the buffer. Unknown record and block types are not errors: they come out as
 * their type, length and the bytes in hex.
 */
#ifndef ESTREAMER_DECODE_H
#define ESTREAMER_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include <estreamer/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Size of the message header (version, type, length). */
#define ESTREAMER_HEADER_SIZE 8

/** Message types. */
enum {
	ESTREAMER_MSG_NULL = 0,
	ESTREAMER_MSG_ERROR = 1,
	ESTREAMER_MSG_EVENT_STREAM_REQUEST = 2,
	ESTREAMER_MSG_EVENT_DATA = 4,
	ESTREAMER_MSG_HOST_REQUEST = 5,
	ESTREAMER_MSG_SINGLE_HOST = 6,
	ESTREAMER_MSG_MULTIPLE_HOST = 7,
	ESTREAMER_MSG_STREAMING_REQUEST = 2049,
	ESTREAMER_MSG_STREAMING_INFO = 2051,
	ESTREAMER_MSG_BUNDLE = 4002,
};

/** The extended-request service. */
#define ESTREAMER_SERVICE_EVENTS 6667

/** A parsed message header. */
typedef struct estreamer_header {
	uint16_t version; /**< 1 on every top-level message */
	uint16_t type;    /**< ESTREAMER_MSG_* */
	uint32_t length;  /**< bytes after the 8-byte header */
} estreamer_header;

/**
 * A decoded record, as handed to callbacks and plugins. Every pointer is
 * borrowed and valid only during the callback.
 */
typedef struct estreamer_record {
	uint32_t type;               /**< record type (flag bit 0x80000000 removed) */
	uint32_t length;             /**< body length */
	int has_archival;            /**< the 8-byte archival extension was present */
	uint32_t archival_timestamp; /**< server (archival) timestamp, 0 if absent */
	const uint8_t *raw;          /**< record header and body as received */
	size_t raw_len;              /**< bytes at @c raw */
	const uint8_t *body;         /**< record body */
	json_object *json;           /**< named fields; borrowed */
} estreamer_record;

/**
 * Called once per decoded record.
 * @return 0 to go on, non-zero to stop decoding (ESTREAMER_ERR_ABORTED)
 */
typedef int (*estreamer_record_cb)(void *user, const estreamer_record *rec);

/**
 * Parses a message header.
 * @param buf at least @p len bytes
 * @param ret_header filled on success
 * @return ESTREAMER_ERR_TRUNCATED when @p len < 8, ESTREAMER_ERR_MALFORMED
 *         when the version is not 1
 */
ESTREAMER_EXPORT estreamer_error estreamer_header_parse(const uint8_t *buf, size_t len,
							estreamer_header *ret_header);

/**
 * Parses the body of an Error message (int32 code, u16 text length, text).
 * NUL bytes are removed from the text.
 * @param text receives the text, always NUL-terminated when @p text_size > 0
 * @param ret_code filled on success
 */
ESTREAMER_EXPORT estreamer_error estreamer_error_message_parse(const uint8_t *body, size_t len,
							       int32_t *ret_code, char *text,
							       size_t text_size);

/**
 * Looks for a service in the body of a Streaming Information message. Both
 * readings of an entry's length (with or without its 8-byte type and length)
 * are tried.
 * @return 1 when @p service is advertised, 0 otherwise
 */
ESTREAMER_EXPORT int estreamer_streaming_info_has_service(const uint8_t *body, size_t len,
							  uint32_t service);

/** Decoder state: the metadata cache used to enrich events. */
typedef struct estreamer_decoder estreamer_decoder;

/**
 * @return a new decoder; release with estreamer_decoder_free(); NULL on
 *         allocation failure
 */
ESTREAMER_EXPORT estreamer_decoder *estreamer_decoder_new(void);

/** Releases @p dec; accepts NULL. */
ESTREAMER_EXPORT void estreamer_decoder_free(estreamer_decoder *dec);

/**
 * Enables or disables enrichment of intrusion events with cached metadata
 * (rule message, classification and priority names). On by default.
 */
ESTREAMER_EXPORT void estreamer_decoder_set_enrich(estreamer_decoder *dec, int enrich);

/**
 * Decodes one record (its 8-byte header, the archival extension when the
 * sizes say it is present, and the body). Metadata records update the cache.
 * @param buf exactly the record; a longer buffer is an error
 * @param ret_json a new object; release with json_object_put()
 */
ESTREAMER_EXPORT estreamer_error estreamer_decoder_record(estreamer_decoder *dec,
							  const uint8_t *buf, size_t len,
							  json_object **ret_json, char *errstr,
							  size_t errstr_size);

/**
 * Decodes a whole message (header included) and calls @p cb for each record it
 * carries: one for Event Data, one per inner message of a Message Bundle.
 * Null and Streaming Information messages deliver nothing. An Error message
 * yields ESTREAMER_ERR_SERVER with "server error CODE: TEXT" in @p errstr.
 * Other message types are ignored. Records decoded before a failure have been
 * delivered.
 * @param cb may be NULL (decode and validate only)
 */
ESTREAMER_EXPORT estreamer_error estreamer_decoder_message(estreamer_decoder *dec,
							   const uint8_t *buf, size_t len,
							   estreamer_record_cb cb, void *user,
							   char *errstr, size_t errstr_size);

/**
 * @return the name of a record type ("Intrusion Event", …) or NULL when the
 *         type has no layout; static
 */
ESTREAMER_EXPORT const char *estreamer_record_type_name(uint32_t type);

#ifdef __cplusplus
}
#endif

#endif
