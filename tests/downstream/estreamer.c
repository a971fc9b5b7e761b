/* SPDX-License-Identifier: Apache-2.0 */
/* Built against the installed libestreamer with pkg-config only: a request built from flag names. */
#include <stdint.h>
#include <stdio.h>

#include <estreamer/request.h>

int main(void)
{
	uint8_t req[ESTREAMER_EVENT_STREAM_REQUEST_SIZE];
	uint32_t flags = 0;

	if (estreamer_flags_parse("packets,metadata", &flags) != ESTREAMER_OK)
		return 1;
	estreamer_request_event_stream(0, flags, req);
	printf("flags 0x%08x, request of %zu bytes, type %u\n", (unsigned)flags, sizeof(req),
	       (unsigned)(req[2] << 8 | req[3]));
	return 0;
}
