#!/bin/sh
# Workload: RocksDB through its `ldb` tool (Debian's rocksdb-tools), one
# process per write; prints each key once `ldb put` returned OK.
for i in 1 2 3 4 5; do
  [ "$(ldb --db=db --create_if_missing put k$i v$i 2>&1)" = OK ] && echo k$i
done
