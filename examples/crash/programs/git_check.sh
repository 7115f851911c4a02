#!/bin/sh
# Checker: git fsck passes and HEAD is the last printed commit or a
# descendant of it.
last=$(tail -n 1 "$VFS_CRASH_OUTPUT")
[ -d repo ] || { [ -z "$last" ] && exit 0; echo "repo is missing after $last"; exit 1; }
cd repo
if [ -z "$last" ]; then
  # Nothing promised: git must still not be corrupt if it opens at all.
  git rev-parse -q --verify HEAD >/dev/null 2>&1 || exit 0
fi
err=$(git fsck --no-progress 2>&1 >/dev/null) || { echo "git fsck: $(echo "$err" | head -3)"; exit 1; }
[ -z "$last" ] && exit 0
head=$(git rev-parse -q --verify HEAD 2>&1) || { echo "HEAD does not resolve after $last was printed: $head"; exit 1; }
git merge-base --is-ancestor "$last" "$head" 2>/dev/null || { echo "HEAD $head is older than the printed $last"; exit 1; }
