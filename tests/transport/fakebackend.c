/* SPDX-License-Identifier: Apache-2.0 */
#include "fakebackend.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long number_in(const char *data)
{
	const char *p = data ? strstr(data, "\"message ") : NULL;
	long n;

	if (!p || sscanf(p, "\"message %ld", &n) != 1)
		return -1;
	return n;
}

static void nap(void)
{
	struct timespec ts = {0, 2 * 1000000L};

	nanosleep(&ts, NULL);
}

static void *fake_main(void *arg)
{
	idmefv2_transport *t = arg;
	struct fake *f = idmefv2__transport_backend_data(t);

	while (!atomic_load(&f->stop)) {
		struct idmefv2__item *items;

		if (atomic_load(&f->mode) == FAKE_HOLD) {
			nap();
			continue;
		}
		items = idmefv2__transport_take(t, 8, 20);
		if (!items) {
			if (idmefv2__transport_stopping(t))
				break;
			continue;
		}
		while (items) {
			struct idmefv2__item *item = items;
			enum fake_mode mode = atomic_load(&f->mode);
			unsigned attempt = atomic_fetch_add(&f->attempts, 1);

			items = item->next;
			item->next = NULL;
			item->attempts++;
			if (mode == FAKE_DOWN || (mode == FAKE_FLAKY && attempt % 3 == 2)) {
				idmefv2__transport_return(t, item);
				while (items) {
					struct idmefv2__item *next = items->next;
					idmefv2__transport_return(t, items);
					items = next;
				}
				nap();
				break;
			}
			if (mode == FAKE_REJECT) {
				idmefv2__transport_dead_letter(t, item, "fake peer said 400");
				idmefv2__transport_done(t, item, IDMEFV2_DELIVERY_REJECTED, "fake peer said 400");
				continue;
			}
			pthread_mutex_lock(&f->lock);
			if (f->n_delivered < FAKE_MAX_RECORDED)
				f->delivered[f->n_delivered++] = number_in(item->data);
			pthread_mutex_unlock(&f->lock);
			idmefv2__transport_done(t, item, IDMEFV2_DELIVERY_SENT, NULL);
		}
	}
	return NULL;
}

static idmefv2_error fake_create(idmefv2_transport *t, char *errstr, size_t errstr_size)
{
	struct fake *f = calloc(1, sizeof(*f));

	(void)errstr;
	(void)errstr_size;
	if (!f)
		return IDMEFV2_ERR_NOMEM;
	pthread_mutex_init(&f->lock, NULL);
	atomic_init(&f->mode, FAKE_UP);
	idmefv2__transport_set_backend_data(t, f);
	return IDMEFV2_OK;
}

static idmefv2_error fake_start(idmefv2_transport *t, char *errstr, size_t errstr_size)
{
	struct fake *f = idmefv2__transport_backend_data(t);

	(void)errstr;
	(void)errstr_size;
	atomic_store(&f->stop, false);
	if (pthread_create(&f->thread, NULL, fake_main, t) != 0)
		return IDMEFV2_ERR_NOMEM;
	f->running = true;
	return IDMEFV2_OK;
}

static void fake_stop(idmefv2_transport *t)
{
	struct fake *f = idmefv2__transport_backend_data(t);

	if (!f->running)
		return;
	atomic_store(&f->stop, true);
	pthread_join(f->thread, NULL);
	f->running = false;
}

static void fake_destroy(idmefv2_transport *t)
{
	struct fake *f = idmefv2__transport_backend_data(t);

	fake_stop(t);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

const struct idmefv2__backend fake_backend = {
	.scheme = "fake",
	.can_send = true,
	.can_listen = false,
	.create = fake_create,
	.start = fake_start,
	.stop = fake_stop,
	.destroy = fake_destroy,
};

idmefv2_transport *fake_new(void)
{
	idmefv2_transport *t = NULL;
	char err[256];

	if (idmefv2__transport_new_with_backend("file:///fake", IDMEFV2_TRANSPORT_SENDER, &fake_backend, &t, err,
	                                        sizeof(err)) != IDMEFV2_OK)
		abort();
	return t;
}

struct fake *fake_of(idmefv2_transport *t)
{
	return idmefv2__transport_backend_data(t);
}

void fake_set_mode(idmefv2_transport *t, enum fake_mode mode)
{
	atomic_store(&fake_of(t)->mode, mode);
}

size_t fake_delivered_count(idmefv2_transport *t)
{
	struct fake *f = fake_of(t);
	size_t n;

	pthread_mutex_lock(&f->lock);
	n = f->n_delivered;
	pthread_mutex_unlock(&f->lock);
	return n;
}

bool fake_delivered_in_order(idmefv2_transport *t, long first, size_t n)
{
	struct fake *f = fake_of(t);
	bool ok;

	pthread_mutex_lock(&f->lock);
	ok = f->n_delivered == n;
	for (size_t i = 0; ok && i < n; i++)
		ok = f->delivered[i] == first + (long)i;
	if (!ok) {
		fprintf(stderr, "delivered (%zu):", f->n_delivered);
		for (size_t i = 0; i < f->n_delivered && i < 64; i++)
			fprintf(stderr, " %ld", f->delivered[i]);
		fprintf(stderr, "\n");
	}
	pthread_mutex_unlock(&f->lock);
	return ok;
}
