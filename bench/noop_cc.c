/* The no-op compiler of bench/ci.py: compiles nothing, only creates the
 * object file named by -o (empty) and, with -MD/-MMD, a dependency file
 * naming no header (-MF's name, or the object's with .d). A build run with
 * it as CC (make) or as the compiler launcher (CMake + Ninja) costs what
 * the build system itself costs, process starts included; the rest of a
 * cached build's time is the cache's own. Built statically at run time
 * (gcc -O2 -static), as objcache's release binary is. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
  if (fd < 0) {
    perror(path);
    return 1;
  }
  if (text && write(fd, text, strlen(text)) < 0) {
    perror(path);
    close(fd);
    return 1;
  }
  return close(fd) != 0;
}

int main(int argc, char **argv) {
  const char *out = 0, *dep = 0;
  int md = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-o") && i + 1 < argc)
      out = argv[++i];
    else if (!strcmp(argv[i], "-MF") && i + 1 < argc)
      dep = argv[++i];
    else if (!strcmp(argv[i], "-MD") || !strcmp(argv[i], "-MMD"))
      md = 1;
  }
  if (!out) {
    fputs("noop-cc: no -o in the command\n", stderr);
    return 2;
  }
  if (write_file(out, 0))
    return 1;
  if (!md)
    return 0;
  char name[4096], rule[4200];
  if (!dep) {
    size_t n = strlen(out);
    if (n + 3 > sizeof name)
      return 1;
    memcpy(name, out, n + 1);
    char *dot = strrchr(name, '.'), *slash = strrchr(name, '/');
    if (dot && (!slash || dot > slash))
      strcpy(dot, ".d");
    else
      strcat(name, ".d");
    dep = name;
  }
  snprintf(rule, sizeof rule, "%s:\n", out);
  return write_file(dep, rule);
}
