# Sourced by tools/quickstart.sh and .ci/run (bash): install the Debian/Ubuntu packages that are
# missing, with apt-get as root or else through sudo. When every package is already installed
# it runs no apt command at all, so a second run costs a dpkg-query per package.

debian_package_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

ensure_debian_packages() {
    local missing=() package
    for package in "$@"; do
        debian_package_installed "$package" || missing+=("$package")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0

    local as_root=()
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: this system has no apt-get; install the equivalents of ${missing[*]} with" \
            "its package manager, then run ${0##*/} again." >&2
        return 1
    fi
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "error: ${missing[*]} must be installed first; as root: apt-get install" \
                "${missing[*]}, then run ${0##*/} again." >&2
            return 1
        fi
        as_root=(sudo)
    fi
    echo "${0##*/}: installing ${missing[*]}${as_root[*]:+ (with sudo)}" >&2
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
