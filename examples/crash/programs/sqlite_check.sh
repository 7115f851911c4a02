#!/bin/sh
# Checker: the database opens, passes integrity_check and holds every commit
# the workload printed before the crash.
[ -e db ] || { grep -q committed "$VFS_CRASH_OUTPUT" && { echo "db is missing"; exit 1; }; exit 0; }
ok=$(sqlite3 db "PRAGMA integrity_check;" 2>&1) 
if ! grep -q committed "$VFS_CRASH_OUTPUT"; then [ "$ok" = ok ] || case "$ok" in *"no such table"*) exit 0;; esac; fi
[ "$ok" = ok ] || { echo "integrity_check: $ok"; exit 1; }
for k in $(sed -n 's/^committed //p' "$VFS_CRASH_OUTPUT"); do
  got=$(sqlite3 db "SELECT v FROM t WHERE k=$k" 2>&1)
  [ "$got" = "value $k" ] || { echo "lost commit $k (got '$got')"; exit 1; }
done
