#!/bin/sh
# Workload: three `git add` + `git commit` in the repository of --init
# (made by run_table.sh); prints each new HEAD. $GITOPT: extra git options.
export GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' GIT_COMMITTER_DATE='2026-01-01T00:00:00Z'
cd repo || exit 1
for i in 1 2 3; do
  echo "file $i" > f$i
  git $GITOPT add f$i && git $GITOPT commit -qm "commit $i" && git rev-parse HEAD
done
