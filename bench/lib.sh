# bench/lib.sh — what the benchmark scripts share. Source it after setting ROOT, BIN and WORK.

SERVER_PID=""

# Stops the server this script started and removes its work folder.
cleanup() {
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
[[ -x $BIN ]] || { echo "build first: cargo build --release -p satchel" >&2; exit 2; }

# The median of the numbers on stdin, one per line.
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.4f\n", (a[NR/2]+a[NR/2+1])/2}'; }

# Reads one field of the JSON on stdin: json '["id"]'.
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# Starts nginx (static + WebDAV PUT) from the shared peers script.
start_nginx() {
  local peers=$ROOT/../shared/bench/peers-setup.sh
  [[ -f $peers ]] || peers=/work/shared/bench/peers-setup.sh
  BIG_MIB=${BIG_MIB:-1024} bash "$peers" start nginx >/dev/null
}
