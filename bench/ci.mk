# Build driver for the CI-case benchmark (bench/ci.py): zstd's library
# (lib/{common,compress,decompress,dictBuilder,legacy}) and Lua's core and
# libraries, every .c to an object with -MD. Identical for every tool; only
# $(CC) differs ("gcc", "ccache gcc", "objcache gcc", the no-op compiler).
# Run from a tree holding zstd/ and lua/: make -f bench/ci.mk -C <tree> -j2 CC=...
#
# Sources and -I directories are named by absolute path, as CMake and CI
# scripts name them; the object by a path relative to the tree. REL=1 names
# them relative to the tree instead: the command both caches run under
# base_dir, whose objects differ where a TU expands __FILE__ (the reference
# for those). The object directories are made by the caller, so that make
# runs nothing but the compiler.
ZSTD_SRCS := $(sort $(wildcard $(addprefix zstd/lib/,$(addsuffix /*.c,common compress decompress dictBuilder legacy))))
LUA_SRCS := $(sort $(wildcard lua/*.c))
OBJS := $(patsubst %.c,obj/%.o,$(ZSTD_SRCS) $(LUA_SRCS))
ifeq ($(REL),1)
DIR :=
else
DIR := $(CURDIR)/
endif
ZSTD_CFLAGS := -O2 -I$(DIR)zstd/lib -I$(DIR)zstd/lib/common -I$(DIR)zstd/lib/legacy
LUA_CFLAGS := -O2 -DLUA_USE_LINUX -DLUA_COMPAT_5_3 -I$(DIR)lua

all: $(OBJS)

obj/zstd/%.o: $(DIR)zstd/%.c
	$(CC) $(ZSTD_CFLAGS) -MD -c $< -o $@

obj/lua/%.o: $(DIR)lua/%.c
	$(CC) $(LUA_CFLAGS) -MD -c $< -o $@

.PHONY: all
