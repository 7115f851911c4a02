#!/usr/bin/env bash
# Checks the shared C library's dynamic symbol table (nm -D):
#   - every defined symbol it exports is vfs_* (the version script, cmake/libvfs.map);
#   - every function vfs/vfs.h declares is exported;
#   - its SONAME is libvfs.so.MAJOR (readelf -d).
# usage: check_symbols.sh LIBVFS_SO VFS_H MAJOR
set -euo pipefail
lib="$1" header="$2" major="$3"
status=0
exported="$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVWiu]$/ {print $3}' | sed 's/@.*//' | sort -u)"
if [ -z "$exported" ]; then echo "check_symbols: $lib exports nothing" >&2; exit 1; fi
# The version node's own name is an absolute symbol (type A), not a function.
stray="$(printf '%s\n' "$exported" | grep -v '^vfs_' || true)"
if [ -n "$stray" ]; then
  echo "check_symbols: $lib exports symbols outside vfs_*:" >&2
  printf '  %s\n' $stray | head -20 >&2
  status=1
fi
# Declared functions: "type vfs_name(" at the start of a declaration.
declared="$(grep -oE '^[a-z_A-Z0-9 ]*[ *](vfs_[a-z0-9_]+)\(' "$header" | grep -oE 'vfs_[a-z0-9_]+\($' | tr -d '(' | sort -u)"
missing="$(comm -23 <(printf '%s\n' "$declared") <(printf '%s\n' "$exported"))"
if [ -n "$missing" ]; then
  echo "check_symbols: declared in $(basename "$header") but not exported by $lib:" >&2
  printf '  %s\n' $missing >&2
  status=1
fi
soname="$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
if [ "$soname" != "libvfs.so.$major" ]; then
  echo "check_symbols: SONAME is '$soname', want libvfs.so.$major" >&2
  status=1
fi
[ $status -eq 0 ] && echo "check_symbols: $(printf '%s\n' "$exported" | wc -l) symbols, all vfs_*; $(printf '%s\n' "$declared" | wc -l) declared functions all exported; SONAME $soname"
exit $status
