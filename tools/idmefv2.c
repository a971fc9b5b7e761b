/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idmefv2: one command, several subcommands (git style). A subcommand is an
 * entry of the table below: its name, a one-line summary, its help text and
 * its main function.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <idmefv2/common.h>

#include "idmefv2-tool.h"

static const struct tool_command commands[] = {
	{ "validate", "check messages against their IDMEFv2 schema (or any JSON schema)",
	  tool__validate_help, tool__validate_main },
	{ "new", "build a message from PATH=VALUE pairs and print it as JSON",
	  tool__new_help, tool__new_main },
	{ "send", "send messages over HTTP(S), Kafka or to a directory",
	  tool__send_help, tool__send_main },
	{ "convert", "convert native NDJSON alerts into IDMEFv2 NDJSON with a mapping template",
	  tool__convert_help, tool__convert_main },
	{ "listen", "receive messages over HTTP(S), Kafka or from a directory",
	  tool__listen_help, tool__listen_main },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

void tool__error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	if (cmd)
		fprintf(stderr, "idmefv2 %s: ", cmd);
	else
		fputs("idmefv2: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int tool__bad_option(const char *cmd, int c, char **argv)
{
	/*
	 * GNU getopt has moved optind past a long option, and sets optopt to
	 * 0 or to the option's value (>= 256 here) for one.
	 */
	const char *word = optind > 0 ? argv[optind - 1] : "";
	bool is_long = optopt == 0 || optopt >= 256 || strncmp(word, "--", 2) == 0;

	if (c == ':') {
		if (is_long)
			tool__error(cmd, "option '%s' requires an argument", word);
		else
			tool__error(cmd, "option '-%c' requires an argument", optopt);
	} else if (is_long) {
		tool__error(cmd, "invalid option '%s'", word);
	} else {
		tool__error(cmd, "invalid option '-%c'", optopt);
	}
	fprintf(stderr, "Try 'idmefv2 %s --help' for more information.\n", cmd);
	return TOOL_EXIT_USAGE;
}

const char *tool__pointer_text(const char *pointer)
{
	return pointer && *pointer ? pointer : "/";
}

static const struct tool_command *command_find(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void usage_print(FILE *out)
{
	fputs("Usage: idmefv2 COMMAND [OPTIONS] [ARGUMENTS]\n"
	      "       idmefv2 help [COMMAND]\n"
	      "       idmefv2 --version\n"
	      "\n"
	      "Validate and build IDMEFv2 security-alert messages.\n"
	      "\n"
	      "Commands:\n", out);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "  %-10s %s\n", "help", "show the help of a command");
	fputs("\n"
	      "Options:\n"
	      "  -h, --help     show this help and exit\n"
	      "      --version  print the libidmefv2-core version and exit\n"
	      "\n"
	      "Secrets of send and listen: -o auth.password_file=FILE, auth.bearer_token_file,\n"
	      "tls.key_password_file, or IDMEFV2_AUTH_PASSWORD, IDMEFV2_AUTH_BEARER_TOKEN,\n"
	      "IDMEFV2_TLS_KEY_PASSWORD: not -o auth.password=..., which ps shows.\n"
	      "\n"
	      "Run 'idmefv2 help COMMAND' for the options of COMMAND; see also idmefv2(1).\n", out);
}

static int unknown_command(const char *name)
{
	tool__error(NULL, "unknown command '%s'", name);
	fputs("Commands:", stderr);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(stderr, " %s", commands[i].name);
	fputs(" help\nTry 'idmefv2 --help' for more information.\n", stderr);
	return TOOL_EXIT_USAGE;
}

static int help_main(int argc, char **argv)
{
	const struct tool_command *cmd;

	if (argc < 2) {
		usage_print(stdout);
		return TOOL_EXIT_OK;
	}
	if (argc > 2) {
		tool__error("help", "too many arguments");
		return TOOL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "help") == 0) {
		fputs("Usage: idmefv2 help [COMMAND]\n\nShow the help of COMMAND, or the list of commands.\n",
		      stdout);
		return TOOL_EXIT_OK;
	}
	cmd = command_find(argv[1]);
	if (!cmd)
		return unknown_command(argv[1]);
	fputs(cmd->help, stdout);
	return TOOL_EXIT_OK;
}

static int finish(int status)
{
	/* A full disk or a closed pipe must not pass for success. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("idmefv2: standard output");
		return TOOL_EXIT_USAGE;
	}
	return status;
}

int main(int argc, char **argv)
{
	const struct tool_command *cmd;
	const char *name;

	if (argc < 2) {
		usage_print(stderr);
		return TOOL_EXIT_USAGE;
	}
	name = argv[1];
	if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
		usage_print(stdout);
		return finish(TOOL_EXIT_OK);
	}
	if (strcmp(name, "--version") == 0) {
		printf("idmefv2 %s\n", idmefv2_version_string());
		return finish(TOOL_EXIT_OK);
	}
	if (strcmp(name, "help") == 0)
		return finish(help_main(argc - 1, argv + 1));
	if (name[0] == '-') {
		tool__error(NULL, "invalid option '%s'", name);
		fputs("Try 'idmefv2 --help' for more information.\n", stderr);
		return TOOL_EXIT_USAGE;
	}
	cmd = command_find(name);
	if (!cmd)
		return unknown_command(name);

	/* Each subcommand parses its own options from a fresh getopt state. */
	optind = 0;
	opterr = 0;
	return finish(cmd->run(argc - 1, argv + 1));
}
