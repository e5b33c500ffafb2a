/* test_restore_selector: restore/selector.c, the --selector string form
 * (as k8s.io/apimachinery's labels.Parse reads it) and the matcher. */
#include <string.h>

#include "restore/restore.h"
#include "restore/restore_i.h"
#include "test_restore_util.h"

/* 1 when the selector s matches an item with the labels in JSON (or
 * NULL: none), 0 when not, -1 when s is refused. */
static int sel(const char *s, const char *labels)
{
	struct restore_selector *rs = NULL;
	struct verror e = { { 0 } };
	char item[1024];
	int r;

	if (restore_selector_new(s, &rs, &e) < 0) {
		CHECK(e.msg[0] != 0);
		return -1;
	}
	snprintf(item, sizeof(item),
		 "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", "
		 "\"metadata\": {\"name\": \"c\"%s%s}}",
		 labels ? ", \"labels\": " : "", labels ? labels : "");
	r = restore_selector_match(rs, item, strlen(item), &e);
	restore_selector_free(rs);
	return r;
}

int main(int argc, char **argv)
{
	const char *web = "{\"app\": \"web\", \"tier\": \"front\"}";

	(void)argc;
	(void)argv;
	CHECK_EQ_INT(sel("", NULL), 1);
	CHECK_EQ_INT(sel("app=web", web), 1);
	CHECK_EQ_INT(sel("app==web", web), 1);
	CHECK_EQ_INT(sel("app=db", web), 0);
	CHECK_EQ_INT(sel("app=web", NULL), 0);
	CHECK_EQ_INT(sel("app!=db", web), 1);
	CHECK_EQ_INT(sel("app!=web", web), 0);
	CHECK_EQ_INT(sel("app!=web", NULL), 1); /* as labels.Parse: absent */
	CHECK_EQ_INT(sel("app in (db, web)", web), 1);
	CHECK_EQ_INT(sel("app in (db)", web), 0);
	CHECK_EQ_INT(sel("app notin (db,cache)", web), 1);
	CHECK_EQ_INT(sel("app notin (web)", web), 0);
	CHECK_EQ_INT(sel("app", web), 1);
	CHECK_EQ_INT(sel("app", NULL), 0);
	CHECK_EQ_INT(sel("!app", NULL), 1);
	CHECK_EQ_INT(sel("! app", web), 0);
	CHECK_EQ_INT(sel("app=web, tier=front", web), 1);
	CHECK_EQ_INT(sel("app=web,tier=back", web), 0);
	CHECK_EQ_INT(sel("app=web,app=db", web), 0);
	CHECK_EQ_INT(sel("example.com/role=x", "{\"example.com/role\": \"x\"}"),
		     1);
	CHECK_EQ_INT(sel("app=", "{\"app\": \"\"}"), 1);
	/* refused */
	CHECK_EQ_INT(sel("app>1", web), -1);
	CHECK_EQ_INT(sel("app in web", web), -1);
	CHECK_EQ_INT(sel("app in (web", web), -1);
	CHECK_EQ_INT(sel("app in ()", web), -1);
	CHECK_EQ_INT(sel("app notin ( )", web), -1);
	CHECK_EQ_INT(sel("app=web,", web), -1);
	CHECK_EQ_INT(sel("=web", web), -1);
	CHECK_EQ_INT(sel("app=web tier=front", web), -1);
	CHECK_EQ_INT(sel("app=a b", web), -1);
	return check_status();
}
