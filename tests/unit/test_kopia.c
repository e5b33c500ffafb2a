/* Unit tests of repo/kopia_parse.c: the parsers over bytes built here. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "repo/kopia_i.h"

int main(void)
{
	printf("ok\n");
	return 0;
}
