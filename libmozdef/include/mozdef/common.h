/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file common.h
 * Export macro and error codes of libmozdef.
 */
#ifndef MOZDEF_COMMON_H
#define MOZDEF_COMMON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define MOZDEF_EXPORT __attribute__((visibility("default")))
#else
#define MOZDEF_EXPORT
#endif

/**
 * Result of every fallible call. 0 is success; values are appended, never
 * renumbered.
 */
typedef enum mozdef_error {
	MOZDEF_OK = 0,
	MOZDEF_ERR_INVALID_ARG = 1,     /**< a NULL or out-of-range argument */
	MOZDEF_ERR_NOMEM = 2,           /**< memory allocation failed */
	MOZDEF_ERR_INVALID = 3,         /**< the event fails validation (errstr names the key) */
	MOZDEF_ERR_UNKNOWN_OPTION = 4,  /**< no option of that name */
	MOZDEF_ERR_OPTION_VALUE = 5,    /**< the option's value is malformed or out of range */
	MOZDEF_ERR_HTTP = 6,            /**< the server answered with a status other than 2xx */
	MOZDEF_ERR_TRANSPORT = 7,       /**< connection, TLS, or timeout failure */
	MOZDEF_ERR_SYSLOG = 8,          /**< the syslog socket could not be opened or written */
	MOZDEF_ERR_SQS = 9,             /**< SQS answered with an error */
	MOZDEF_ERR_TOO_LARGE = 10,      /**< the message exceeds the destination's size limit */
	MOZDEF_ERR_CREDENTIALS = 11,    /**< no usable AWS credentials */
	MOZDEF_ERR_FULL = 12,           /**< the asynchronous queue is full */
	MOZDEF_ERR_CLOSED = 13,         /**< the client is shutting down */
	MOZDEF_ERR_TIMEOUT = 14,        /**< a flush did not finish in time */
	MOZDEF_ERR_STATE = 15,          /**< no destination configured for this send */
	MOZDEF_ERR_PARSE = 16,          /**< malformed JSON text */
	MOZDEF_ERR_IO = 17,             /**< reading a file failed */
} mozdef_error;

/**
 * @return a static, human-readable description of @p err; never NULL.
 */
MOZDEF_EXPORT const char *mozdef_strerror(mozdef_error err);

/**
 * @return the library version as "MAJOR.MINOR.MICRO"; static.
 */
MOZDEF_EXPORT const char *mozdef_version_string(void);

#ifdef __cplusplus
}
#endif

#endif
