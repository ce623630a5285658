#!/usr/bin/env bash
# ctest "install": install weft into a temporary prefix and build a small program against it,
# once with CMake's find_package(weft) and once with pkg-config, then run both. Then the same
# for a shared-library build of weft (BUILD_SHARED_LIBS=ON), configured on the side.
#
#   install-test.sh BUILD_DIR SOURCE_DIR C_COMPILER C_FLAGS LINKER_FLAGS
#
# C_FLAGS and LINKER_FLAGS are the build's own (sanitizer flags must reach the consumer of an
# instrumented static library). Everything happens under one temporary directory, removed at
# the end.
set -euo pipefail
build=$1 src=$2 cc=$3 cflags=$4 ldflags=$5
consumer=$src/tests/install/consumer
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
jobs=2

step() { echo "--- $*"; }
quiet() { # run a command, show its output only if it fails
    local log=$tmp/step.log
    if ! "$@" >"$log" 2>&1; then cat "$log"; echo "FAILED: $*"; exit 1; fi
}

# consume PREFIX NAME CFLAGS LDFLAGS: build and run the consumer both ways against PREFIX.
consume() {
    local prefix=$1 name=$2 flags=$3 lflags=$4
    step "$name: find_package(weft)"
    quiet cmake -S "$consumer" -B "$tmp/$name-cmake" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$lflags"
    quiet cmake --build "$tmp/$name-cmake"
    "$tmp/$name-cmake/weft_consumer"

    step "$name: pkg-config --cflags --libs weft"
    local pc
    pc=$(dirname "$(find "$prefix" -name weft.pc | head -n1)")
    local pcflags
    pcflags=$(PKG_CONFIG_PATH=$pc pkg-config --cflags --libs weft)
    echo "pkg-config: $pcflags"
    # shellcheck disable=SC2086 # the flags are meant to split
    "$cc" $flags "$consumer/main.c" -o "$tmp/$name-pc" $pcflags $lflags
    LD_LIBRARY_PATH=$(dirname "$(find "$prefix" -name 'libweft.*' | head -n1)") "$tmp/$name-pc"
}

step "static: cmake --install $build --prefix <tmp>/static"
quiet cmake --install "$build" --prefix "$tmp/static"
consume "$tmp/static" static "$cflags" "$ldflags"

step "shared: configure and build libweft with BUILD_SHARED_LIBS=ON"
quiet cmake -S "$src" -B "$tmp/shared-build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER="$cc" \
    -DBUILD_SHARED_LIBS=ON -DWEFT_BUILD_TESTS=OFF -DWEFT_BUILD_EXAMPLES=OFF \
    -DWEFT_BUILD_TOOLS=OFF -DWEFT_BUILD_BENCH=OFF
quiet cmake --build "$tmp/shared-build" -j "$jobs" --target weft
quiet cmake --install "$tmp/shared-build" --prefix "$tmp/shared"
find "$tmp/shared" -name 'libweft.so*' | grep -q . || { echo "FAILED: no libweft.so installed"; exit 1; }
consume "$tmp/shared" shared "" ""
readelf -d "$tmp/shared-pc" | grep -q 'NEEDED.*libweft\.so' ||
    { echo "FAILED: the pkg-config consumer is not linked to libweft.so"; exit 1; }
echo "install test passed"
