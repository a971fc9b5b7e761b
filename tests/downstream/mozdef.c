/* SPDX-License-Identifier: Apache-2.0 */
/* Built against the installed libmozdef with pkg-config only: an event built, validated and serialized. */
#include <stdio.h>
#include <stdlib.h>

#include <mozdef/mozdef.h>

int main(void)
{
	mozdef_event *ev = mozdef_event_new(MOZDEF_EVENT_GENERIC);
	char err[256] = "", *text = NULL;
	int rc = 1;

	if (!ev)
		return 1;
	/* Without a summary the event is refused, the key named. */
	if (mozdef_event_validate(ev, err, sizeof(err)) == MOZDEF_OK)
		goto out;
	printf("%s\n", err);
	mozdef_event_set_summary(ev, "downstream event");
	if (mozdef_event_serialize(ev, &text, NULL, err, sizeof(err)) != MOZDEF_OK) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	printf("%s\n", text);
	rc = 0;
out:
	free(text);
	mozdef_event_free(ev);
	return rc;
}
