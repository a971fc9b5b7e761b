/* SPDX-License-Identifier: Apache-2.0 */
/* Record and block layout tables, read by decode.c. */
#ifndef ESTREAMER_LAYOUTS_H
#define ESTREAMER_LAYOUTS_H

#include <stddef.h>
#include <stdint.h>

enum field_type {
	F_END = 0,
	F_U8,
	F_U16,
	F_U32,
	F_I32,
	F_U64,
	F_IPV4,      /* u32 address */
	F_IPV6,      /* 16 bytes; IPv4-mapped shown as dotted IPv4 */
	F_MAC,       /* 6 bytes */
	F_UUID,      /* 16 bytes, RFC 4122 text in byte order */
	F_HEX,       /* arg bytes shown in hex */
	F_LEN16,     /* u16 length kept for the next F_CHARS/F_BYTES; shown if named */
	F_LEN32,     /* u32 length, same */
	F_CHARS,     /* text of the kept length */
	F_BYTES,     /* bytes of the kept length, in hex */
	F_STRING,    /* string block: u32 type, u32 length (with header), text */
	F_BLOB,      /* BLOB block: same shape, bytes in hex */
	F_INLINE,    /* nested block of series arg whose fields join the current object */
	F_BLOCK,     /* nested block of series arg as a sub-object */
	F_HOST_IP,   /* discovery host IPv6: present or not, decided by what follows */
	F_REST,      /* whatever is left, in hex, when anything is */
};

struct field {
	const char *name;
	uint8_t type;
	uint8_t arg;
};

#define LAYOUT_PARTS 5

struct layout {
	uint32_t type;
	const char *name;
	const struct field *parts[LAYOUT_PARTS];
};

/* Block series: which numbering a nested block's type belongs to. */
enum { SERIES_1 = 1, SERIES_2 = 2 };

const struct layout *estreamer__record_layout(uint32_t type);
const struct layout *estreamer__block_layout(int series, uint32_t type);

#endif
