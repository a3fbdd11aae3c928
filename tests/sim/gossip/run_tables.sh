#!/bin/sh
# run_tables.sh: runs every simulator figure at N = 100, 1000 and 4000 (default protocol
# settings, seed 1) and prints the markdown tables for docs/performance.md on stdout.
# The raw lines go to $OUT (default ./sim-tables.log). Slow: hours at N = 4000.
# Usage: run_tables.sh [path/to/hearsay-sim] [N...]
set -u
SIM=${1:-./hearsay-sim}
[ $# -gt 0 ] && shift
SIZES=${*:-100 1000 4000}
OUT=${OUT:-sim-tables.log}
SEED=${SEED:-1}
: > "$OUT"

# field NAME LINE: the value of NAME=... in a figure line
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }

CACHE=$(mktemp)
trap 'rm -f "$CACHE"' EXIT
run() { # one run per distinct argument list; repeated rows reuse the cached line
    key="$*"
    line=$(awk -v k="$key" -F '\t' '$1 == k { print $2 }' "$CACHE")
    if [ -z "$line" ]; then
        echo "hearsay-sim $* --seed $SEED" >&2
        line=$("$SIM" "$@" --seed "$SEED" --quiet 2>/dev/null | grep '^scenario=' | tail -n 1)
        [ -n "$line" ] || line="scenario=$1 ok=0 error=no_output"
        printf '%s\t%s\n' "$key" "$line" >> "$CACHE"
        printf 'hearsay-sim %s --seed %s\n%s\n' "$*" "$SEED" "$line" >> "$OUT"
    fi
    printf '%s\n' "$line"
}

echo "| figure | goal | $(for n in $SIZES; do printf 'N=%s | ' "$n"; done)"
echo "|---|---|$(for n in $SIZES; do printf -- '---|'; done)"

row() { # row LABEL GOAL FIELD ARGS...: one table row, one run per N
    label=$1 goal=$2 f=$3
    shift 3
    cells=""
    for n in $SIZES; do
        l=$(run "$@" --nodes "$n")
        v=$(field "$f" "$l")
        ok=$(field ok "$l")
        [ "$ok" = 1 ] && mark="" || mark=" (miss)"
        cells="$cells ${v:-n/a}$mark |"
    done
    echo "| $label | $goal |$cells"
}

row "detect: median ms" "<= 3000" median_ms detect --trials 20
row "detect: p99 ms" "<= 5000" p99_ms detect --trials 20
row "join reaches all, max ms (no loss)" "<= 1000" max_ms disseminate --kind join --trials 10
row "leave reaches all, max ms (no loss)" "<= 1000" max_ms disseminate --kind leave --trials 10
row "fail reaches all, max ms (no loss)" "<= 1000" max_ms disseminate --kind fail --trials 10
row "join reaches all, max ms (10% loss)" "<= 3000" max_ms disseminate --kind join --trials 10 --loss 0.1
row "leave reaches all, max ms (10% loss)" "<= 3000" max_ms disseminate --kind leave --trials 10 --loss 0.1
row "fail reaches all, max ms (10% loss)" "<= 3000" max_ms disseminate --kind fail --trials 10 --loss 0.1
row "load: bytes/node/s" "<= 2048" bytes_per_node_s load --duration 300
row "accuracy: failed marks of live nodes, 1 h, 10% loss" "0" failed_marks_of_live accuracy --duration 3600
row "stability: max status changes of a flaky node, 1 h" "<= 1" max_status_changes stability --duration 3600
row "stability: healthy nodes suspected by a majority" "0" healthy_majority_suspected stability --duration 3600
row "partition 50/50 60 s: heal to one view, s" "<= 10" heal_to_converged_s partition --duration 60
row "mass start: all see all, s" "<= 20" all_see_all_s massstart
row "member table bytes per member" "<= 200" bytes_per_member load --duration 300
# scaling goals: N=4000 against N=1000
case " $SIZES " in *" 1000 "*" 4000 "*)
    d1=$(field median_ms "$(run detect --trials 20 --nodes 1000)")
    d4=$(field median_ms "$(run detect --trials 20 --nodes 4000)")
    l1=$(field bytes_per_node_s "$(run load --duration 300 --nodes 1000)")
    l4=$(field bytes_per_node_s "$(run load --duration 300 --nodes 4000)")
    echo
    awk -v a="$d1" -v b="$d4" 'BEGIN { if (a > 0) printf "Detection median N=4000 / N=1000: %.2f (goal <= 1.2)\n", b / a }'
    awk -v a="$l1" -v b="$l4" 'BEGIN { if (a > 0) printf "Load N=4000 / N=1000: %.2f (goal <= 1.10)\n", b / a }'
    ;;
esac
echo
echo "Raw figure lines: $OUT"
