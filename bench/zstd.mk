# Build driver for the C benchmark: every .c of zstd's lib/{common,compress,
# decompress,dictBuilder} to an object, with -MD. Identical for every tool;
# only $(CC) differs ("gcc", "ccache gcc", "objcache gcc").
# Run from the copied zstd tree: make -f bench/zstd.mk -C <tree> -j2 CC=...
#
# Paths on the compiler's command line:
#   ABS_SRC=1  sources by absolute path, like CMake (gcc ... -c /abs/lib/x.c)
#   (unset)    sources relative to the tree (gcc ... -c lib/x.c)
#   REL_INC=1  -I directories relative to the tree instead of absolute; with
#              relative sources this is the command ccache runs when base_dir
#              covers the tree (the reference for its outputs)
# The object is always named relatively (-o obj/x.o), as CMake does.
SRCS := $(sort $(wildcard lib/common/*.c lib/compress/*.c lib/decompress/*.c lib/dictBuilder/*.c))
OBJS := $(patsubst lib/%.c,obj/%.o,$(SRCS))
ifeq ($(REL_INC),1)
INCDIR :=
else
INCDIR := $(CURDIR)/
endif
ifeq ($(ABS_SRC),1)
SRCDIR := $(CURDIR)/
else
SRCDIR :=
endif
CFLAGS := -O2 -I$(INCDIR)lib -I$(INCDIR)lib/common

all: $(OBJS)

obj/%.o: $(SRCDIR)lib/%.c
	$(CC) $(CFLAGS) -MD -c $< -o $@

.PHONY: all
