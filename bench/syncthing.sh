#!/usr/bin/env bash
# bench/syncthing.sh — Syncthing (Debian package) on loopback, for the same case as bench/sync.sh:
# a small file written in device A's folder until it is complete in device B's folder.
#
# Usage: bench/syncthing.sh        (apt-get install syncthing)
# Environment: TRIALS [10]; DELAY [10] Syncthing's fsWatcherDelayS (10 is its default).
set -euo pipefail

TRIALS=${TRIALS:-10} DELAY=${DELAY:-10}
command -v syncthing >/dev/null || { echo "install syncthing first: apt-get install syncthing" >&2; exit 2; }
WORK=$(mktemp -d /tmp/satchel-stbench.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT

for n in 1 2; do
  syncthing generate --home="$WORK/h$n" --no-default-folder >/dev/null 2>&1
  mkdir -p "$WORK/dir$n"
done
ID1=$(syncthing serve --home="$WORK/h1" --device-id)
ID2=$(syncthing serve --home="$WORK/h2" --device-id)

# Loopback only: no discovery, relays, NAT, upgrades or reporting; each knows the other.
for n in 1 2; do
  python3 - "$WORK" "$n" "$ID1" "$ID2" "$DELAY" <<'EOF'
import sys, xml.etree.ElementTree as ET
work, n, id1, id2, delay = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
path = f"{work}/h{n}/config.xml"
tree = ET.parse(path)
root = tree.getroot()
opts = root.find("options")
settings = {"listenAddress": f"tcp://127.0.0.1:{22100 + n}", "globalAnnounceEnabled": "false",
            "localAnnounceEnabled": "false", "relaysEnabled": "false", "natEnabled": "false",
            "startBrowser": "false", "urAccepted": "-1", "crashReportingEnabled": "false",
            "autoUpgradeIntervalH": "0"}
for key, value in settings.items():
    opts.find(key).text = value
root.find("gui").find("address").text = f"127.0.0.1:{18400 + n}"
other_id, other_port = (id2, 22102) if n == 1 else (id1, 22101)
other = ET.SubElement(root, "device", id=other_id, name=f"peer", compression="metadata",
                      introducer="false", skipIntroductionRemovals="false", introducedBy="")
ET.SubElement(other, "address").text = f"tcp://127.0.0.1:{other_port}"
ET.SubElement(other, "paused").text = "false"
folder = ET.SubElement(root, "folder", id="bench", label="bench", path=f"{work}/dir{n}",
                       type="sendreceive", rescanIntervalS="3600", fsWatcherEnabled="true",
                       fsWatcherDelayS=delay, ignorePerms="false", autoNormalize="true")
ET.SubElement(folder, "device", id=id1, introducedBy="")
ET.SubElement(folder, "device", id=id2, introducedBy="")
tree.write(path)
EOF
  syncthing serve --home="$WORK/h$n" --no-browser --no-restart >"$WORK/st$n.log" 2>&1 &
  PIDS+=($!)
done

# Wait until the two are connected and a first file goes through.
echo warm > "$WORK/dir1/warmup.txt"
for _ in $(seq 600); do [[ -f $WORK/dir2/warmup.txt ]] && break; sleep 0.1; done
[[ -f $WORK/dir2/warmup.txt ]] || { echo "syncthing did not connect; see $WORK/st*.log" >&2; tail "$WORK"/st*.log; exit 1; }

read -r med p95 best worst < <(python3 "$(dirname "$0")/latency.py" "$WORK/dir1" "$WORK/dir2" "$TRIALS" 120 0.5)
printf 'RESULT\tsyncthing-latency\t%s ms\tp95 %s ms, min %s, max %s over %s trials\n' "$med" "$p95" "$best" "$worst" "$TRIALS"
echo "(syncthing $(syncthing --version | awk '{print $2}'), fsWatcherDelayS=$DELAY)"
