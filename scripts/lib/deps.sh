# Sourced by scripts/*: make sure the Debian packages a script needs are installed.
#
#   weft_need_packages PKG...
#
# Installs whatever is missing with apt-get (one `apt-get update` first) when running as root;
# otherwise prints the exact command to run and exits.

weft_need_packages() {
    local missing=()
    local pkg
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$pkg")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "weft: missing packages: ${missing[*]}" >&2
        echo "weft: run as root:  apt-get update && apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "weft: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "${WEFT_APT_UPDATED:-}" ]; then
        apt-get update -qq
        export WEFT_APT_UPDATED=1
    fi
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# What every build needs.
WEFT_BUILD_PACKAGES=(gcc make cmake pkg-config libc6-dev)
# What the test suite needs on top: cmocka, clang with its sanitizer runtime, valgrind, curl;
# netbase for /etc/services (test_blocking resolves the service name "http").
WEFT_TEST_PACKAGES=(libcmocka-dev clang clang-format libclang-rt-14-dev llvm-14 valgrind curl libuv1-dev libcurl4-openssl-dev python3 graphviz netbase)
