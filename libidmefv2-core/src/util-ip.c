/* SPDX-License-Identifier: Apache-2.0 */
#include <idmefv2/util.h>

#include <string.h>

#include "format-private.h"

/* RFC 6874 ZoneID characters (unreserved), which covers interface names and indexes. */
static bool zone_check(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '.' || c == '_' || c == '~'))
			return false;
	}
	return true;
}

IDMEFV2_EXPORT idmefv2_ip_kind idmefv2_ip_classify(const char *s)
{
	if (!s)
		return IDMEFV2_IP_NONE;
	size_t len = strlen(s);
	if (idmefv2__ipv4_check(s, len))
		return IDMEFV2_IP_V4;
	const char *pct = memchr(s, '%', len);
	size_t addr_len = pct ? (size_t)(pct - s) : len;
	if (pct && !zone_check(pct + 1, len - addr_len - 1))
		return IDMEFV2_IP_NONE;
	return idmefv2__ipv6_check(s, addr_len) ? IDMEFV2_IP_V6 : IDMEFV2_IP_NONE;
}
