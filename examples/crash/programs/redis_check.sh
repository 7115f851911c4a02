#!/bin/sh
# Checker: Redis starts on the recovered directory and holds every printed
# key. Its socket and log are outside the mount.
sock=/tmp/vfs-redis-c-$$.sock
redis-server --port 0 --unixsocket "$sock" --dir "$VFS_ROOT" --appendonly yes --save '' \
  --aof-load-truncated yes --daemonize no --logfile "" --loglevel warning > /tmp/vfs-redis-c-$$.log 2>&1 &
up=
for i in $(seq 500); do [ "$(redis-cli -s "$sock" ping 2>/dev/null)" = PONG ] && { up=1; break; }; sleep 0.02; done
if [ -z "$up" ]; then echo "redis does not start: $(tail -2 /tmp/vfs-redis-c-$$.log)"; rm -f /tmp/vfs-redis-c-$$.log; exit 1; fi
rm -f /tmp/vfs-redis-c-$$.log
lost=
for k in $(cat "$VFS_CRASH_OUTPUT"); do
  [ "$(redis-cli -s "$sock" get "$k")" = "v${k#k}" ] || lost="$lost $k"
done
redis-cli -s "$sock" shutdown nosave >/dev/null 2>&1
[ -z "$lost" ] || { echo "acknowledged writes lost:$lost"; exit 1; }
