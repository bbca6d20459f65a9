#!/bin/bash
# make_deb.sh OUTDIR VERSION: libnginx-mod-http-torchserve_VERSION_ARCH.deb,
# laid out as Debian's own nginx module packages are (the module in
# /usr/lib/nginx/modules/, its load_module line in
# /usr/share/nginx/modules-available/, enabled by the maintainer script
# with a symlink in /etc/nginx/modules-enabled/), with the tools.
# Depends: the nginx ABI the module was built against (what Debian's
# nginx package Provides) and the packages of the libraries the
# binaries link directly (objdump's NEEDED, through dpkg -S).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:?outdir}
VERSION=${2:?version}
BUILD=$TOP/build
ARCH=$(dpkg --print-architecture)
PKG=libnginx-mod-http-torchserve
ROOT=$BUILD/deb/root

rm -rf "$BUILD/deb"
mkdir -p "$ROOT/DEBIAN" "$OUT"

# the files, where `make install` puts them for Debian's nginx
make -C "$TOP" --no-print-directory install DESTDIR="$ROOT" PREFIX=/usr \
    NGX_MODULES=/usr/lib/nginx/modules >/dev/null
# the names of other programs are the alternatives system's to give
rm -f "$ROOT/usr/bin/torchserve" "$ROOT/usr/bin/torch-model-archiver"

# the docs (example config, dashboard, help texts) under the package's name
mv "$ROOT/usr/share/doc/ngx_http_torchserve_module" "$ROOT/usr/share/doc/$PKG"

install -d "$ROOT/usr/share/nginx/modules-available"
echo "load_module modules/ngx_http_torchserve_module.so;" \
    > "$ROOT/usr/share/nginx/modules-available/mod-http-torchserve.conf"

# the nginx ABI: the exact one the module was built against
abi=$(dpkg-query -W -f='${Provides}\n' nginx 2>/dev/null | tr ',' '\n' \
      | sed -n 's/^ *\(nginx-abi-[^ ]*\).*/\1/p' | head -1)
[ -n "$abi" ] || { echo "make_deb.sh: no nginx-abi in nginx's Provides" >&2; exit 1; }

# the packages of the libraries linked directly
libpkgs() {
    local f lib path pkg
    for f in "$@"; do
        objdump -p "$f" | awk '/NEEDED/ { print $2 }'
    done | sort -u | while read -r lib; do
        path=$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')
        [ -n "$path" ] || continue
        pkg=$(dpkg -S "$path" 2>/dev/null || dpkg -S "/usr$path" 2>/dev/null \
              || dpkg -S "$(readlink -f "$path")" 2>/dev/null || true)
        [ -n "$pkg" ] && echo "${pkg%%:*}"
    done | sort -u
}
deps=$(libpkgs "$BUILD/ngx_http_torchserve_module.so" "$BUILD/torchserve" \
       "$BUILD/archive_tool" | paste -sd, | sed 's/,/, /g')

cat > "$ROOT/DEBIAN/control" <<CONTROL
Package: $PKG
Version: $VERSION
Architecture: $ARCH
Maintainer: ngx_http_torchserve_module developers <root@localhost>
Section: httpd
Priority: optional
Depends: $abi, $deps, python3-torch, python3-torchvision, python3-pil, python3-numpy
Installed-Size: $(du -sk "$ROOT" | cut -f1)
Description: PyTorch model serving (TorchServe's APIs) as an nginx module
 TorchServe's inference, management and metrics APIs, its .mar archives
 and its torchserve --start line, served by nginx: TorchScript models on
 libtorch in nginx thread pools, Python handlers on an interpreter
 embedded in each worker process. Includes archive_tool (the
 torch-model-archiver) and ngx-torchserve (the torchserve command).
CONTROL

install -m 755 "$TOP/packaging/postinst" "$TOP/packaging/prerm" "$ROOT/DEBIAN/"
(cd "$ROOT" && find usr -type f -exec md5sum {} + | sort -k2) > "$ROOT/DEBIAN/md5sums"

deb=$OUT/${PKG}_${VERSION}_${ARCH}.deb
dpkg-deb --root-owner-group --build "$ROOT" "$deb" >/dev/null
echo "$deb"
