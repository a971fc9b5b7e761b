/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Feeds the fuzz target the seed files (and every prefix of each, the
 * commonest bad input) without libFuzzer, so that the ordinary suite and the
 * sanitizer builds replay the corpus.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t n = 0, cap = 0, got;
	uint8_t chunk[4096];

	if (!f)
		return -1;
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (n + got > cap) {
			uint8_t *nd = realloc(data, cap = (n + got) * 2);

			if (!nd) {
				free(data);
				fclose(f);
				return -1;
			}
			data = nd;
		}
		memcpy(data + n, chunk, got);
		n += got;
	}
	fclose(f);
	for (size_t k = 0; k <= n; k++) {
		/* A copy of exactly k bytes, so that an over-read hits the sanitizer. */
		uint8_t *copy = malloc(k ? k : 1);

		if (!copy) {
			free(data);
			return -1;
		}
		if (k)
			memcpy(copy, data, k);
		LLVMFuzzerTestOneInput(copy, k);
		free(copy);
	}
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned passed = 0, failed = 0;

	for (int i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		struct dirent *e;

		if (!d) {
			if (run_file(argv[i]) == 0)
				passed++;
			else
				failed++;
			continue;
		}
		while ((e = readdir(d))) {
			char path[4096];
			struct stat st;

			snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			if (e->d_name[0] == '.' || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
				continue;
			if (run_file(path) == 0)
				passed++;
			else
				failed++;
		}
		closedir(d);
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed || passed == 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
