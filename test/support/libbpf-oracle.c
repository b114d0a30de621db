/* The libbpf oracle of the loader tests: loads one program of an object with the system's libbpf
 * (every other program's autoload off), optionally sets .rodata variables first, test-runs it on
 * a 64-byte IPv4 Ethernet frame when its type can be test-run, and prints one JSON line:
 *   {"loaded":true,"retval":N}   {"loaded":true}   {"loaded":false,"error":"..."}
 * Usage: libbpf-oracle OBJECT PROGRAM [--run] [--pin-root DIR] [--set NAME=U32]...
 *        libbpf-oracle --sections NAME...   (one line per name: {"name":..,"type":N,"attach":N} or {"name":..})
 * Built by test/support/libbpf.ts with gcc -lbpf; never committed as a binary. */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char last_error[4096];

static int keep_warnings(enum libbpf_print_level level, const char *fmt, va_list args) {
  if (level != LIBBPF_WARN) return 0;
  char line[1024];
  vsnprintf(line, sizeof line, fmt, args);
  size_t used = strlen(last_error);
  if (used + strlen(line) < sizeof last_error) strcat(last_error, line);
  return 0;
}

static void json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') printf("\\%c", *s);
    else if (*s == '\n') printf("\\n");
    else if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
    else putchar(*s);
  }
  putchar('"');
}

static int fail(const char *what) {
  printf("{\"loaded\":false,\"error\":");
  char text[8192];
  snprintf(text, sizeof text, "%s: %s", what, last_error);
  json_string(text);
  printf("}\n");
  return 0;
}

/* Writes a u32 into the .rodata variable `name` of the object before load. */
static int set_rodata(struct bpf_object *obj, const char *name, unsigned int value) {
  struct btf *btf = bpf_object__btf(obj);
  struct bpf_map *map;
  bpf_object__for_each_map(map, obj) {
    const char *n = bpf_map__name(map);
    size_t len = strlen(n);
    if (len < 7 || strcmp(n + len - 7, ".rodata") != 0) continue;
    int sec = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
    if (sec < 0) return -1;
    const struct btf_type *t = btf__type_by_id(btf, sec);
    const struct btf_var_secinfo *vs = btf_var_secinfos(t);
    for (int i = 0; i < btf_vlen(t); i++, vs++) {
      const struct btf_type *var = btf__type_by_id(btf, vs->type);
      if (strcmp(btf__name_by_offset(btf, var->name_off), name) != 0) continue;
      size_t size;
      char *data = (char *)bpf_map__initial_value(map, &size);
      if (!data || vs->offset + 4 > size) return -1;
      memcpy(data + vs->offset, &value, 4);
      return 0;
    }
  }
  return -1;
}

/* What libbpf_prog_type_by_name() says of each section name. */
static int sections(int argc, char **argv) {
  libbpf_set_print(keep_warnings);
  for (int i = 2; i < argc; i++) {
    enum bpf_prog_type type;
    enum bpf_attach_type attach;
    printf("{\"name\":");
    json_string(argv[i]);
    if (libbpf_prog_type_by_name(argv[i], &type, &attach) == 0) printf(",\"type\":%d,\"attach\":%d", type, attach);
    printf("}\n");
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "--sections") == 0) return sections(argc, argv);
  if (argc < 3) {
    fprintf(stderr, "usage: libbpf-oracle OBJECT PROGRAM [--run] [--pin-root DIR] [--set NAME=U32]...\n");
    return 2;
  }
  libbpf_set_print(keep_warnings);
  const char *pin_root = NULL;
  for (int i = 3; i + 1 < argc; i++)
    if (strcmp(argv[i], "--pin-root") == 0) pin_root = argv[i + 1];
  LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = pin_root);
  struct bpf_object *obj = bpf_object__open_file(argv[1], &open_opts);
  if (!obj) return fail("open");
  struct bpf_program *prog, *wanted = NULL;
  bpf_object__for_each_program(prog, obj) {
    int mine = strcmp(bpf_program__name(prog), argv[2]) == 0;
    bpf_program__set_autoload(prog, mine);
    if (mine) wanted = prog;
  }
  if (!wanted) return fail("no such program");
  int run = 0;
  for (int i = 3; i < argc; i++) {
    if (strcmp(argv[i], "--run") == 0) run = 1;
    else if (strcmp(argv[i], "--pin-root") == 0) i++;
    else if (strcmp(argv[i], "--set") == 0 && i + 1 < argc) {
      char *eq = strchr(argv[++i], '=');
      if (!eq) return 2;
      *eq = 0;
      if (set_rodata(obj, argv[i], (unsigned int)strtoul(eq + 1, NULL, 0)) != 0) return fail("set");
    }
  }
  if (bpf_object__load(obj) != 0) return fail("load");
  if (!run) {
    printf("{\"loaded\":true}\n");
    bpf_object__close(obj);
    return 0;
  }
  unsigned char packet[64] = {0};
  packet[12] = 0x08; /* ETH_P_IP */
  packet[14] = 0x45;
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet, .data_size_in = sizeof packet, .repeat = 1);
  if (bpf_prog_test_run_opts(bpf_program__fd(wanted), &opts) != 0) {
    snprintf(last_error, sizeof last_error, "errno %d", errno);
    return fail("test run");
  }
  printf("{\"loaded\":true,\"retval\":%u}\n", opts.retval);
  bpf_object__close(obj);
  return 0;
}
