#!/bin/sh
# Checker: the database opens and holds every printed key.
[ -s "$VFS_CRASH_OUTPUT" ] || exit 0
out=$(ldb --db=db scan 2>&1) || { echo "the database does not open: $(echo "$out" | head -2)"; exit 1; }
lost=
for k in $(cat "$VFS_CRASH_OUTPUT"); do
  [ "$(ldb --db=db get "$k" 2>/dev/null)" = "v${k#k}" ] || lost="$lost $k"
done
[ -z "$lost" ] || { echo "acknowledged writes lost:$lost"; exit 1; }
