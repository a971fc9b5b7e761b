/* SPDX-License-Identifier: Apache-2.0 */
#include "listen-support.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define CURL_PATH "/usr/bin/curl"
#define MAX_ARGS 64

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)(len > 0 ? len : 0) + 1);
	if (buf && len > 0 && fread(buf, 1, (size_t)len, f) != (size_t)len)
		buf[0] = '\0';
	fclose(f);
	return buf;
}

/* Run @argv with stdout to @out (or /dev/null) and stderr to /dev/null; the exit status or -1. */
static int run(const char *const *argv, const char *out)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status, ret;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	ret = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (ret != 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool listen_curl(const char *dir, const char *const *args, struct listen_reply *ret)
{
	const char *argv[MAX_ARGS];
	char body_path[512], head_path[512], out_path[512];
	char *out;
	size_t n = 0;

	memset(ret, 0, sizeof(*ret));
	snprintf(body_path, sizeof(body_path), "%s/curl-body", dir);
	snprintf(head_path, sizeof(head_path), "%s/curl-headers", dir);
	snprintf(out_path, sizeof(out_path), "%s/curl-out", dir);
	unlink(body_path);
	unlink(head_path);
	argv[n++] = CURL_PATH;
	argv[n++] = "-sS";
	argv[n++] = "--max-time";
	argv[n++] = "60";
	argv[n++] = "-o";
	argv[n++] = body_path;
	argv[n++] = "-D";
	argv[n++] = head_path;
	argv[n++] = "-w";
	argv[n++] = "%{http_code} %{size_upload}";
	for (; *args && n < MAX_ARGS - 1; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	ret->exit_code = run(argv, out_path);
	if (ret->exit_code < 0)
		return false;
	out = slurp(out_path);
	if (out) {
		unsigned long long up = 0;

		if (sscanf(out, "%u %llu", &ret->status, &up) >= 1)
			ret->uploaded = up;
		free(out);
	}
	ret->headers = slurp(head_path);
	ret->body = slurp(body_path);
	return ret->headers && ret->body;
}

void listen_reply_clear(struct listen_reply *r)
{
	free(r->headers);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

const char *listen_reply_header(const struct listen_reply *r, const char *name)
{
	static char value[512];
	const char *found = NULL;
	size_t nlen = strlen(name);

	for (const char *line = r->headers; line && *line;) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);

		if (len > nlen && strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
			const char *v = line + nlen + 1;
			size_t vlen = len - nlen - 1;

			while (vlen && (*v == ' ' || *v == '\t'))
				v++, vlen--;
			while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == ' '))
				vlen--;
			if (vlen >= sizeof(value))
				vlen = sizeof(value) - 1;
			memcpy(value, v, vlen);
			value[vlen] = '\0';
			found = value;
		}
		line = eol ? eol + 1 : NULL;
	}
	return found;
}

/* ---- certificates ------------------------------------------------------------------------- */

static bool write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (!f)
		return false;
	ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok;
}

static bool certtool_key(const char *dir, const char *name)
{
	char key[512];
	const char *argv[] = { "/usr/bin/certtool", "--generate-privkey", "--key-type=ecdsa", "--no-text",
	                       "--outfile", key, NULL };

	snprintf(key, sizeof(key), "%s/%s-key.pem", dir, name);
	return run(argv, NULL) == 0;
}

/* @name.pem from @name.tmpl and @name-key.pem, signed by @ca (NULL: self-signed). */
static bool certtool_cert(const char *dir, const char *name, const char *ca, const char *template_text)
{
	char tmpl[512], key[512], cert[512], ca_cert[512], ca_key[512];
	const char *self[] = { "/usr/bin/certtool", "--generate-self-signed", "--no-text", "--load-privkey", key,
	                       "--template", tmpl, "--outfile", cert, NULL };
	const char *signed_by[] = { "/usr/bin/certtool", "--generate-certificate", "--no-text", "--load-privkey", key,
	                            "--load-ca-certificate", ca_cert, "--load-ca-privkey", ca_key,
	                            "--template", tmpl, "--outfile", cert, NULL };

	snprintf(tmpl, sizeof(tmpl), "%s/%s.tmpl", dir, name);
	snprintf(key, sizeof(key), "%s/%s-key.pem", dir, name);
	snprintf(cert, sizeof(cert), "%s/%s.pem", dir, name);
	snprintf(ca_cert, sizeof(ca_cert), "%s/%s.pem", dir, ca ? ca : "");
	snprintf(ca_key, sizeof(ca_key), "%s/%s-key.pem", dir, ca ? ca : "");
	if (!write_text(tmpl, template_text) || !certtool_key(dir, name))
		return false;
	return run(ca ? signed_by : self, NULL) == 0;
}

bool listen_make_certs(const char *dir)
{
	static const char ca[] =
		"cn = \"idmefv2 test CA\"\nca\ncert_signing_key\nexpiration_days = 2\n";
	static const char rogue_ca[] =
		"cn = \"someone else's CA\"\nca\ncert_signing_key\nexpiration_days = 2\n";
	static const char server[] =
		"cn = \"localhost\"\ndns_name = \"localhost\"\nip_address = \"127.0.0.1\"\n"
		"tls_www_server\nsigning_key\nencryption_key\nexpiration_days = 2\n";
	static const char client[] =
		"cn = \"client1.example\"\ndns_name = \"client1.example\"\n"
		"tls_www_client\nsigning_key\nexpiration_days = 2\n";
	static const char other[] =
		"cn = \"client2.example\"\ndns_name = \"client2.example\"\n"
		"tls_www_client\nsigning_key\nexpiration_days = 2\n";

	return certtool_cert(dir, "ca", NULL, ca) &&
	       certtool_cert(dir, "rogue-ca", NULL, rogue_ca) &&
	       certtool_cert(dir, "server", "ca", server) &&
	       certtool_cert(dir, "client", "ca", client) &&
	       certtool_cert(dir, "other", "ca", other) &&
	       certtool_cert(dir, "rogue", "rogue-ca", client);
}
