/* fuzz_kubeconfig: a kubeconfig file (kube/config.c through kube/yaml.c),
 * loaded the way `--kubeconfig FILE` loads it: contexts, clusters,
 * users, embedded base64 certificates, exec plugins (described, never
 * run here). The YAML reader is also called alone in its other mode
 * (plain scalars resolved as YAML 1.2). Paths the file names resolve
 * next to it, in a scratch directory. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_util.h"
#include "kube/kube_i.h"

static char path[4200];

/* The calls into velerofs. */
static void load_config(void)
{
	struct kube_options o = { .kubeconfig = path };
	struct kube_config c;

	if (kube_config_load(&o, &c, NULL) == 0)
		kube_config_release(&c);
}

static void load_yaml(const char *p, size_t n)
{
	json_t *v = NULL;

	if (kube_yaml_load(p, n, 0, NULL, &v, NULL) == 0)
		json_decref(v);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "%s/kube/config", fuzz_tmpdir());
	/* a file that relative certificate paths may name */
	fuzz_write(NULL, "kube/ca.pem", "not a certificate\n", 18);
	/* the in-cluster fallback must not be taken */
	unsetenv("KUBERNETES_SERVICE_HOST");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1); /* no NUL after it */

	if (!p)
		return 0;
	memcpy(p, data, size);
	fuzz_write(NULL, "kube/config", p, size);
	load_config();
	load_yaml(p, size);
	free(p);
	return 0;
}
