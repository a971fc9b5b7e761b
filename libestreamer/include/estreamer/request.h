/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file request.h
 * Event Stream Requests, request flags and extended (streaming) requests.
 */
#ifndef ESTREAMER_REQUEST_H
#define ESTREAMER_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <estreamer/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Initial timestamp: oldest data the server holds. */
#define ESTREAMER_START_OLDEST 0x00000000u
/** Initial timestamp: from the time of connection. */
#define ESTREAMER_START_NOW 0xFFFFFFFFu

/** Request flag bit numbers used by the library itself. */
#define ESTREAMER_FLAG_BIT_ARCHIVE_TIMESTAMP 23
#define ESTREAMER_FLAG_BIT_EXTENDED 30

/** Size of an encoded Event Stream Request. */
#define ESTREAMER_EVENT_STREAM_REQUEST_SIZE 16

/**
 * Looks up a request flag by the name used in configuration files
 * ("packets", "metadata", …, "extended_request"; case-insensitive).
 * @param ret_bit the bit number, 0–30 (the flag value is 1u << bit)
 * @return ESTREAMER_ERR_INVALID_ARG for an unknown name
 */
ESTREAMER_EXPORT estreamer_error estreamer_flag_lookup(const char *name, unsigned *ret_bit);

/**
 * @return the configuration name of flag bit @p bit, or NULL beyond 30; static
 */
ESTREAMER_EXPORT const char *estreamer_flag_name(unsigned bit);

/**
 * Parses a flag set: a number (decimal or 0x hex) or a list of flag names
 * separated by commas, spaces or '|'.
 */
ESTREAMER_EXPORT estreamer_error estreamer_flags_parse(const char *spec, uint32_t *ret_flags);

/**
 * Encodes an Event Stream Request (message type 2).
 * @param out receives ESTREAMER_EVENT_STREAM_REQUEST_SIZE bytes
 */
ESTREAMER_EXPORT void estreamer_request_event_stream(uint32_t timestamp, uint32_t flags,
						     uint8_t out[ESTREAMER_EVENT_STREAM_REQUEST_SIZE]);

/** One (version, event code) entry of an extended request. */
typedef struct estreamer_event_type {
	uint16_t version;
	uint16_t code;
} estreamer_event_type;

/**
 * Looks up an extended-request event type by name (INTRUSION_EVENTS,
 * METADATA, CORRELATION, DISCOVERY, CONNECTION, USER, MALWARE, FILE, IMPACT,
 * TERMINATE; case-insensitive).
 * @param ret_type code and default version (those of Cisco's newest client)
 */
ESTREAMER_EXPORT estreamer_error estreamer_event_type_lookup(const char *name,
							     estreamer_event_type *ret_type);

/**
 * Parses a list of event types: names separated by commas or spaces, each
 * optionally followed by ":VERSION" ("INTRUSION_EVENTS:9, METADATA"). Duplicate
 * codes keep the first; TERMINATE is dropped (the encoder appends it).
 * @param types receives at most @p max entries
 * @param ret_count filled on success
 */
ESTREAMER_EXPORT estreamer_error estreamer_event_types_parse(const char *spec,
							     estreamer_event_type *types,
							     size_t max, size_t *ret_count);

/** How the service length of a Streaming Request is counted. */
typedef enum estreamer_service_length {
	/** 16 + 4N: includes the service id and length fields (Cisco's clients) */
	ESTREAMER_SERVICE_LENGTH_INCLUSIVE = 0,
	/** 8 + 4N: excludes them (the 5.3 guide's worked example) */
	ESTREAMER_SERVICE_LENGTH_EXCLUSIVE = 1,
} estreamer_service_length;

/**
 * Encodes a Streaming Request (message type 2049) for service 6667. The
 * terminating {0, 0} entry is appended.
 * @param out receives the message
 * @param ret_len filled with its size (24 + 4 * (n + 1))
 * @return ESTREAMER_ERR_INVALID_ARG when @p out_size is too small
 */
ESTREAMER_EXPORT estreamer_error estreamer_request_streaming(uint32_t timestamp, uint32_t flags,
							     const estreamer_event_type *types,
							     size_t n,
							     estreamer_service_length mode,
							     uint8_t *out, size_t out_size,
							     size_t *ret_len);

/**
 * Encodes a Null message (acknowledgement).
 * @param out receives 8 bytes
 */
ESTREAMER_EXPORT void estreamer_request_null(uint8_t out[8]);

#ifdef __cplusplus
}
#endif

#endif
