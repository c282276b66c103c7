# Build driver for the C benchmark: every .c of zstd's lib/{common,compress,
# decompress,dictBuilder} to an object, with -MD. Identical for every tool;
# only $(CC) differs ("gcc", "ccache gcc", "objcache gcc").
# Run from the copied zstd tree: make -f bench/zstd.mk -C <tree> -j2 CC=...
SRCS := $(sort $(wildcard lib/common/*.c lib/compress/*.c lib/decompress/*.c lib/dictBuilder/*.c))
OBJS := $(patsubst lib/%.c,obj/%.o,$(SRCS))
CFLAGS := -O2 -I$(CURDIR)/lib -I$(CURDIR)/lib/common

all: $(OBJS)

obj/%.o: lib/%.c
	$(CC) $(CFLAGS) -MD -c $< -o $@

.PHONY: all
