#!/bin/sh
# The main job on bundled samples: idmefv2-connector tails (a copy of)
# examples/connectors/suricata-eve.json into idmefv2-testserver, then both
# report their counts, which must match. Run after scripts/setup.sh.
set -eu
cd "$(dirname "$0")/.."
B=build/tools
work=$(mktemp -d)
srv=''
con=''
cleanup() {
	if [ -n "$con" ]; then kill "$con" 2>/dev/null || true; fi
	if [ -n "$srv" ]; then kill "$srv" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

# The receiver, on a free port of 127.0.0.1.
"$B/idmefv2-testserver" -p 0 2>"$work/server.log" &
srv=$!
port=
for _ in $(seq 100); do
	port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$work/server.log")
	[ -n "$port" ] && break
	sleep 0.1
done
[ -n "$port" ] || { cat "$work/server.log"; exit 1; }

# What the connector should send: the alerts its template converts.
expected=$("$B/idmefv2-connector" suricata --once examples/connectors/suricata-eve.json 2>/dev/null | wc -l)

cp examples/connectors/suricata-eve.json "$work/eve.json"
cat >"$work/suricata-idmefv2.conf" <<CONF
[logging]
level = INFO

[idmefv2]
url = http://127.0.0.1:$port/

[suricata]
filetype = regular
filename = $work/eve.json

[input]
from_beginning = true

[state]
dir = $work/state
CONF
echo "== idmefv2-connector suricata -c suricata-idmefv2.conf (tailing $(wc -l <"$work/eve.json") EVE lines into http://127.0.0.1:$port/)"
"$B/idmefv2-connector" suricata -c "$work/suricata-idmefv2.conf" --foreground 2>"$work/connector.log" &
con=$!
received=0
for _ in $(seq 300); do
	received=$(grep -c 'INFO: valid 2.D.V08 message' "$work/server.log" || true)
	[ "$received" -ge "$expected" ] && break
	sleep 0.1
done
kill -TERM "$con"
wait "$con" || true
con=
kill -TERM "$srv"
wait "$srv" || true
srv=
sed -n 's/^[^ ]* //p' "$work/connector.log"
echo "== idmefv2-testserver"
tail -n 1 "$work/server.log"
echo "== the first message received"
"$B/idmefv2-connector" suricata --once examples/connectors/suricata-eve.json 2>/dev/null | head -n 1 |
	python3 -m json.tool
if [ "$received" -eq "$expected" ]; then
	echo "OK: $expected alerts converted, sent and received valid"
else
	echo "MISMATCH: $expected converted, $received received" >&2
	exit 1
fi
