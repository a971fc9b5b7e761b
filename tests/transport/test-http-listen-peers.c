/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tls.allowed_peers and certificate names (RFC 6125 §6.4.4): the CN is
 * matched only when the certificate has no subjectAltName identifier. Client
 * certificates are made by certtool at test time, signed by the test CA.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <idmefv2/message.h>
#include <idmefv2/queue.h>
#include <idmefv2/transport.h>

#include "listen-support.h"
#include "testlib.h"

static char *cert_dir;

static const char *in_dir(const char *name)
{
	static char paths[8][512];
	static unsigned next;
	char *p = paths[next++ % 8];

	snprintf(p, sizeof(paths[0]), "%s/%s", cert_dir, name);
	return p;
}

static bool run_quiet(const char *const *argv)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return false;
	if (pid == 0) {
		freopen("/dev/null", "w", stdout);
		freopen("/dev/null", "w", stderr);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* @name.pem and @name-key.pem, signed by the test CA, from a certtool template. */
static bool make_client(const char *name, const char *template_text)
{
	char tmpl[512], key[512], cert[512], ca[512], ca_key[512];
	const char *genkey[] = { "/usr/bin/certtool", "--generate-privkey", "--key-type=ecdsa", "--no-text",
	                         "--outfile", key, NULL };
	const char *gencert[] = { "/usr/bin/certtool", "--generate-certificate", "--no-text", "--load-privkey", key,
	                          "--load-ca-certificate", ca, "--load-ca-privkey", ca_key, "--template", tmpl,
	                          "--outfile", cert, NULL };
	FILE *f;

	snprintf(tmpl, sizeof(tmpl), "%s/%s.tmpl", cert_dir, name);
	snprintf(key, sizeof(key), "%s/%s-key.pem", cert_dir, name);
	snprintf(cert, sizeof(cert), "%s/%s.pem", cert_dir, name);
	snprintf(ca, sizeof(ca), "%s/ca.pem", cert_dir);
	snprintf(ca_key, sizeof(ca_key), "%s/ca-key.pem", cert_dir);
	f = fopen(tmpl, "w");
	if (!f)
		return false;
	fputs(template_text, f);
	fclose(f);
	return run_quiet(genkey) && run_quiet(gencert);
}

static void make_certs(void)
{
	cert_dir = testlib_tmpdir();
	if (!cert_dir)
		return;
	if (listen_make_certs(cert_dir) &&
	    make_client("cn-only", "cn = \"client1\"\ntls_www_client\nsigning_key\nexpiration_days = 2\n") &&
	    make_client("san", "cn = \"someone else\"\ndns_name = \"client1\"\n"
	                       "tls_www_client\nsigning_key\nexpiration_days = 2\n") &&
	    make_client("intruder", "cn = \"client1\"\ndns_name = \"intruder\"\n"
	                            "tls_www_client\nsigning_key\nexpiration_days = 2\n") &&
	    make_client("ip-san", "cn = \"client1\"\nip_address = \"192.0.2.1\"\n"
	                          "tls_www_client\nsigning_key\nexpiration_days = 2\n"))
		return;
	testlib_rmtree(cert_dir);
	free(cert_dir);
	cert_dir = NULL;
}

static void remove_certs(void)
{
	if (cert_dir)
		testlib_rmtree(cert_dir);
	free(cert_dir);
	cert_dir = NULL;
}

/* POST one message with client certificate @client; the HTTP status (0: none). */
static unsigned post_as(const char *dir, unsigned port, const char *client, unsigned n)
{
	char url[128], body_arg[600], cert[512], key[512], ca[512], json[2048];
	const char *args[20];
	struct listen_reply r;
	unsigned status;
	FILE *f;

	testlib_message_json(n, json, sizeof(json));
	snprintf(body_arg, sizeof(body_arg), "%s/body.json", dir);
	f = fopen(body_arg, "w");
	ck_assert_ptr_nonnull(f);
	fputs(json, f);
	fclose(f);
	snprintf(body_arg, sizeof(body_arg), "@%s/body.json", dir);
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/", port);
	snprintf(cert, sizeof(cert), "%s", in_dir(client));
	strcat(cert, ".pem");
	snprintf(key, sizeof(key), "%s-key.pem", in_dir(client));
	snprintf(ca, sizeof(ca), "%s", in_dir("ca.pem"));
	{
		const char *a[] = { "--cacert", ca, "--cert", cert, "--key", key, "-H", "Content-Type: application/json",
		                    "--data-binary", body_arg, url, NULL };

		memcpy(args, a, sizeof(a));
	}
	ck_assert(listen_curl(dir, args, &r));
	status = r.status;
	if (status == 403)
		ck_assert_ptr_nonnull(strstr(r.body, "allowed_peers"));
	listen_reply_clear(&r);
	return status;
}

START_TEST(test_names_of_client_certificates)
{
	static const struct {
		const char *client;
		unsigned status;
	} cases[] = {
		{ "cn-only", 204 },  /* no subjectAltName: the CN is the name */
		{ "san", 204 },      /* matched by its DNS name; the CN says something else */
		{ "intruder", 403 }, /* CN=client1, SAN=DNS:intruder: the SAN is the name */
		{ "ip-san", 403 },   /* an IP address identifier: the CN no longer counts either */
	};
	idmefv2_transport *t = NULL;
	idmefv2_queue *q = idmefv2_queue_new(16);
	char errstr[512] = "", *dir = testlib_tmpdir();
	const char *opts[][2] = {
		{ "tls.cert", in_dir("server.pem") }, { "tls.key", in_dir("server-key.pem") },
		{ "tls.client_ca", in_dir("ca.pem") }, { "tls.allowed_peers", "client1" },
	};
	unsigned port;

	ck_assert_msg(cert_dir, "the test certificates could not be made (certtool)");
	ck_assert_int_eq(idmefv2_transport_new("https://127.0.0.1:0/", IDMEFV2_TRANSPORT_LISTENER, &t, errstr,
	                                       sizeof(errstr)), IDMEFV2_OK);
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		ck_assert_msg(idmefv2_transport_set(t, opts[i][0], opts[i][1], errstr, sizeof(errstr)) == IDMEFV2_OK,
		              "%s: %s", opts[i][0], errstr);
	idmefv2_transport_set_queue(t, q);
	ck_assert_msg(idmefv2_transport_start(t, errstr, sizeof(errstr)) == IDMEFV2_OK, "%s", errstr);
	port = idmefv2_transport_get_port(t);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned status = post_as(dir, port, cases[i].client, (unsigned)i + 1);

		ck_assert_msg(status == cases[i].status, "%s: status %u, expected %u", cases[i].client, status,
		              cases[i].status);
	}
	/* Exactly the two allowed ones were queued. */
	ck_assert_uint_eq(idmefv2_queue_size(q), 2);
	idmefv2_transport_free(t);
	idmefv2_queue_unref(q);
	testlib_rmtree(dir);
	free(dir);
}
END_TEST

static Suite *peers_suite(void)
{
	Suite *s = suite_create("http-listen-peers");
	TCase *tc = tcase_create("names");

	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, make_certs, remove_certs);
	tcase_add_test(tc, test_names_of_client_certificates);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(peers_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
