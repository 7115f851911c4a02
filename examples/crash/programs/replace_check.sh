#!/bin/sh
# Checker of the replace rows: data/x holds "old" or "new", and "new" once
# the workload printed "replaced" ($VFS_CRASH_OUTPUT).
v=$(cat data/x 2>/dev/null) || { echo "data/x is missing"; exit 1; }
if grep -q replaced "$VFS_CRASH_OUTPUT"; then
  [ "$v" = new ] || { echo "data/x holds '$v' after 'replaced' was printed"; exit 1; }
else
  [ "$v" = new ] || [ "$v" = old ] || { echo "data/x holds '$v', neither old nor new"; exit 1; }
fi
