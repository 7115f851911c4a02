#!/bin/sh
# Workload: the sqlite3 shell, one process per commit; prints "committed N"
# once the shell returned. $1 = journal mode, $2 = synchronous.
sqlite3 db "PRAGMA journal_mode=$1; PRAGMA synchronous=$2; CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT);" >/dev/null
for i in 1 2 3 4; do
  sqlite3 db "PRAGMA synchronous=$2; INSERT INTO t VALUES($i, 'value $i');" && echo "committed $i"
done
