#!/bin/sh
# Workload: redis-server with appendonly yes and appendfsync $1 on the mount;
# redis-cli SETs k1..k10, printing each key Redis acknowledged (OK).
sock=/tmp/vfs-redis-w-$$.sock
redis-server --port 0 --unixsocket "$sock" --dir "$VFS_ROOT" --appendonly yes --appendfsync "$1" \
  --save '' --daemonize no --logfile "" --loglevel warning >/dev/null 2>&1 &
for i in $(seq 100); do redis-cli -s "$sock" ping >/dev/null 2>&1 && break; sleep 0.05; done
for i in $(seq 1 10); do
  [ "$(redis-cli -s "$sock" set k$i v$i)" = OK ] && echo k$i
  # Half-way, more than a second: everysec's background fsync runs.
  [ $i = 5 ] && sleep 2
done
redis-cli -s "$sock" shutdown >/dev/null 2>&1
wait
