/* QEMU TCG plugin: counts guest instructions like tests/plugin/insn.c (inline=on:
 * one inline add per executed instruction) and reports the running count on demand,
 * so one QEMU run measures several workloads without subtracting a separate (and,
 * for Linux, time-dependent) boot run.
 *   -plugin libinsn_snap.so,ctl=FIFO,out=FILE
 * Each byte written to FIFO appends the current count as one line to FILE; the
 * final count is appended as "end N" at exit. One vCPU (the bench's guests): the
 * count is read without a lock while the vCPU thread adds to it. */
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

static uint64_t count;
static char *ctl_path, *out_path;

static void append(const char *prefix)
{
    FILE *f = fopen(out_path, "a");

    if (f) {
        fprintf(f, "%s%" PRIu64 "\n", prefix, __atomic_load_n(&count, __ATOMIC_RELAXED));
        fclose(f);
    }
}

static void *ctl_thread(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = open(ctl_path, O_RDONLY);      /* blocks until the bench opens it */
        char c;

        if (fd < 0)
            return NULL;
        while (read(fd, &c, 1) == 1)
            append("");
        close(fd);
    }
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    for (size_t i = 0; i < qemu_plugin_tb_n_insns(tb); i++)
        qemu_plugin_register_vcpu_insn_exec_inline(qemu_plugin_tb_get_insn(tb, i),
                                                   QEMU_PLUGIN_INLINE_ADD_U64, &count, 1);
}

static void at_exit(qemu_plugin_id_t id, void *p)
{
    (void)id;
    (void)p;
    append("end ");
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                           int argc, char **argv)
{
    pthread_t t;

    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "ctl=", 4) == 0)
            ctl_path = strdup(argv[i] + 4);
        else if (strncmp(argv[i], "out=", 4) == 0)
            out_path = strdup(argv[i] + 4);
    }
    if (!ctl_path || !out_path) {
        fprintf(stderr, "insn_snap: needs ctl=FIFO,out=FILE\n");
        return -1;
    }
    if (pthread_create(&t, NULL, ctl_thread, NULL) != 0)
        return -1;
    pthread_detach(t);
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
