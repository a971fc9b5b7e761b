/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file common.h
 * Export macro, error codes and version of libestreamer.
 */
#ifndef ESTREAMER_COMMON_H
#define ESTREAMER_COMMON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define ESTREAMER_EXPORT __attribute__((visibility("default")))
#else
#define ESTREAMER_EXPORT
#endif

/**
 * Result of every fallible call. 0 is success; values are appended, never
 * renumbered.
 */
typedef enum estreamer_error {
	ESTREAMER_OK = 0,
	ESTREAMER_ERR_INVALID_ARG = 1,    /**< a NULL or out-of-range argument, or a bad option value */
	ESTREAMER_ERR_NOMEM = 2,          /**< memory allocation failed */
	ESTREAMER_ERR_TRUNCATED = 3,      /**< a message, record or block is shorter than it says */
	ESTREAMER_ERR_MALFORMED = 4,      /**< a length or version is impossible */
	ESTREAMER_ERR_UNKNOWN_OPTION = 5, /**< no option of that name */
	ESTREAMER_ERR_IO = 6,             /**< reading or writing a file failed */
	ESTREAMER_ERR_CREDENTIALS = 7,    /**< PKCS#12/PEM unreadable, wrong password, no client certificate */
	ESTREAMER_ERR_CONNECT = 8,        /**< name resolution or TCP connection failed */
	ESTREAMER_ERR_TLS = 9,            /**< TLS handshake or record layer failure */
	ESTREAMER_ERR_VERIFY = 10,        /**< the server certificate is not trusted */
	ESTREAMER_ERR_SERVER = 11,        /**< the server sent an Error message */
	ESTREAMER_ERR_CLOSED = 12,        /**< the server closed the connection */
	ESTREAMER_ERR_TIMEOUT = 13,       /**< connect or read timed out */
	ESTREAMER_ERR_PLUGIN = 14,        /**< a plugin could not be loaded */
	ESTREAMER_ERR_ABORTED = 15,       /**< a callback asked to stop */
	ESTREAMER_ERR_PROTOCOL = 16,      /**< the server broke the message sequence */
	ESTREAMER_ERR_HOSTNAME = 17,      /**< the server certificate is trusted but names another host */
	ESTREAMER_ERR_REFUSED = 18,       /**< the server refused this client: a certificate alert, or an Error message in reply to the request */
} estreamer_error;

/**
 * @return a static, human-readable description of @p err; never NULL.
 */
ESTREAMER_EXPORT const char *estreamer_strerror(estreamer_error err);

/**
 * Tells whether a retry can fix @p err. Permanent: a bad argument or option,
 * client credentials that cannot be used (wrong password included), a server
 * certificate not trusted or for another host, a refusal by the server, an
 * unsafe plugins directory. Everything else (connection refused or reset,
 * timeouts, closed connections, malformed data, an Error message in the middle
 * of a stream) is transient.
 * @return 1 when permanent, 0 when a retry may succeed
 */
ESTREAMER_EXPORT int estreamer_error_is_permanent(estreamer_error err);

/**
 * @return the library version as "MAJOR.MINOR.MICRO"; static.
 */
ESTREAMER_EXPORT const char *estreamer_version_string(void);

#ifdef __cplusplus
}
#endif

#endif
