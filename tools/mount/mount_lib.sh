# Sourced by the scripts in tools/mount that measure a running `vfs mount`:
#   start_mount BUILD_DIR BACKEND [MODE]
# makes a scratch directory ($work) with the mount point $mnt (given MODE, if
# any) and the control socket path $ctl, starts `vfs mount` there in the
# background ($pid), removes both at exit, and returns once the mount serves.
start_mount() {
  work=$(mktemp -d)
  chmod 755 "$work"
  mnt=$work/m
  ctl=$work/ctl
  mkdir "$mnt"
  if [ -n "${3:-}" ]; then chmod "$3" "$mnt"; fi
  trap stop_mount EXIT
  "$1/vfs" mount --backend "$2" --control "$ctl" "$mnt" 2>"$work/log" &
  pid=$!
  while ! grep -q serving "$work/log"; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/log"; exit 1; }
    sleep 0.1
  done
}

stop_mount() {
  if [ -n "${pid:-}" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
