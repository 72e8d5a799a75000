#!/usr/bin/env bash
# Build Swift/T (github.com/swift-lang/swift-t, Apache-2.0) from a source
# checkout, for the Swift/T export tests (tests/test_swift_t.py) and docs/swift-t.md.
#
#   tools/build-swift-t.sh SRC_DIR PREFIX
#
# SRC_DIR is a checkout (or unpacked archive) of swift-t; it is modified in place
# (dev/build/swift-t-settings.sh is written, and stc/code/build.xml loses the
# -Xlint:-this-escape compiler arguments that JDK 17's javac rejects; they only
# silence warnings). PREFIX receives the install; PREFIX/stc/bin holds swift-t.
# Afterwards: export SWIFT_T_HOME=PREFIX (or put PREFIX/stc/bin on PATH).
#
# Needs, on Debian 12: apt-get install ant libmpich-dev mpich swig zsh autoconf
# make default-jdk-headless tcl-dev python3-dev. MAKE_JOBS (default 2) is passed
# as make's parallelism; keep it low on shared machines.
set -eu

if (( $# != 2 )); then
  echo "usage: $0 SRC_DIR PREFIX" >&2
  exit 2
fi
SRC=$(cd "$1" && pwd)
mkdir -p "$2"
PREFIX=$(cd "$2" && pwd)
BUILD="$SRC/dev/build"
if [[ ! -x "$BUILD/build-swift-t.sh" ]]; then
  echo "$0: $SRC does not look like a swift-t source tree (no dev/build/build-swift-t.sh)" >&2
  exit 2
fi
for tool in ant mpicc swig zsh autoconf make javac tclsh; do
  if ! command -v "$tool" >/dev/null; then
    echo "$0: '$tool' not found; see the package list at the top of this script" >&2
    exit 1
  fi
done

PYTHON_EXE=${PYTHON_EXE:-/usr/bin/python3}
TCL_INSTALL=${TCL_INSTALL:-/usr/lib/tcl8.6}
if [[ ! -f "$TCL_INSTALL/tclConfig.sh" ]]; then
  echo "$0: no tclConfig.sh in $TCL_INSTALL (install tcl-dev, or set TCL_INSTALL)" >&2
  exit 1
fi

# JDK 17 rejects -Xlint:-this-escape (added for newer JDKs to silence a warning).
if grep -q 'this-escape' "$SRC/stc/code/build.xml"; then
  sed -i '/-Xlint:-this-escape/d' "$SRC/stc/code/build.xml"
fi

rm -f "$BUILD/swift-t-settings.sh"
"$BUILD/init-settings.sh" >/dev/null
S="$BUILD/swift-t-settings.sh"
sed -i \
  -e "s|^export SWIFT_T_PREFIX=.*|export SWIFT_T_PREFIX=$PREFIX|" \
  -e "s|^ENABLE_PYTHON=.*|ENABLE_PYTHON=1|" \
  -e "s|^MAKE_PARALLELISM=.*|MAKE_PARALLELISM=${MAKE_JOBS:-2}|" \
  "$S"
{
  echo ""
  echo "# Set by autofuture's tools/build-swift-t.sh"
  echo "TCL_INSTALL=$TCL_INSTALL"
  echo "PYTHON_EXE=$PYTHON_EXE"
} >>"$S"

start=$(date +%s)
"$BUILD/build-swift-t.sh"
echo "Swift/T built into $PREFIX in $(( $(date +%s) - start )) s;" \
     "export SWIFT_T_HOME=$PREFIX (swift-t is in $PREFIX/stc/bin)"
