/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the connector daemon's INI configuration through the real
 * `idmefv2-connector TOOL -c FILE --check-config` code path: the daemon's own
 * sources are compiled into this target with their main() renamed, and each
 * input is one configuration file (held in a memory file) checked for the
 * tool its first byte picks. That runs the INI reader (inih with the daemon's
 * line reader: continuations, repeated keys, line numbers), every key's
 * parsing and range check, the template and Version, the transport URL and
 * options, the state directory check and each tool's input set-up.
 *
 * --check-config creates nothing, but three keys act on the world even
 * there: [logging] file (created), [logging] syslog (writes the system log)
 * and [idmefv2] dead_letter (created); and [idmefv2] template reads any
 * file, however large. Inputs setting them are skipped (found by the same
 * INI reader). Host names are not resolved: getaddrinfo() answers numeric
 * addresses only, so that no input waits on DNS.
 */
#include <dlfcn.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ini.h>

#include "connector-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* tools/idmefv2-connector.c's main(), renamed by the build. */
int connector_main(int argc, char **argv);

static int conf_fd = -1;
static char conf_path[64];

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
	static int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
	struct addrinfo h = { 0 };

	if (!real)
		real = (int (*)(const char *, const char *, const struct addrinfo *, struct addrinfo **))dlsym(
			RTLD_NEXT, "getaddrinfo");
	if (hints)
		h = *hints;
	h.ai_flags |= AI_NUMERICHOST;
	return real(node, service, &h, res);
}

/* The input as a stream for inih, read as fgets() reads the file. */
struct mem {
	const char *p, *end;
};

static char *mem_gets(char *str, int num, void *stream)
{
	struct mem *m = stream;
	int n = 0;

	if (m->p >= m->end || num < 2)
		return NULL;
	while (n < num - 1 && m->p < m->end) {
		char ch = *m->p++;

		str[n++] = ch;
		if (ch == '\n')
			break;
	}
	str[n] = '\0';
	return str;
}

static int find_acting(void *user, const char *section, const char *key, const char *value)
{
	static const char *const acting[][2] = {
		{ "logging", "file" }, { "logging", "syslog" }, { "idmefv2", "dead_letter" }, { "idmefv2", "template" },
	};
	bool *found = user;

	(void)value;
	for (size_t i = 0; i < sizeof(acting) / sizeof(acting[0]); i++)
		if (strcasecmp(section, acting[i][0]) == 0 && strcasecmp(key, acting[i][1]) == 0)
			*found = true;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mem m = { (const char *)data + 1, (const char *)data + size };
	char tool[32], flag_c[] = "-c", flag_check[] = "--check-config", prog[] = "idmefv2-connector";
	char *argv[] = { prog, tool, flag_c, conf_path, flag_check, NULL };
	bool acting = false;
	size_t ntools = 0;

	if (size == 0)
		return 0;
	(void)ini_parse_stream(mem_gets, &m, find_acting, &acting);
	if (acting)
		return 0;
	if (conf_fd < 0) {
		conf_fd = memfd_create("fuzz-connector.conf", MFD_CLOEXEC);
		if (conf_fd < 0)
			abort();
		snprintf(conf_path, sizeof(conf_path), "/proc/self/fd/%d", conf_fd);
	}
	if (ftruncate(conf_fd, 0) != 0 || pwrite(conf_fd, data + 1, size - 1, 0) != (ssize_t)(size - 1))
		abort();
	while (tool__connectors[ntools].name)
		ntools++;
	snprintf(tool, sizeof(tool), "%s", tool__connectors[data[0] % ntools].name);
	optind = 0; /* getopt starts over */
	(void)connector_main(5, argv);
	return 0;
}
