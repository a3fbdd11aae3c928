#!/bin/sh
# sim_figures.sh: reruns the simulator runs behind the figures of docs/performance.md and
# writes their raw output to bench/results/ (see bench/results/README.md); then run
# /usr/bin/python3 bench/plots.py. Usage: bench/sim_figures.sh [hearsay-sim] [--big]
set -eu
SIM=${1:-build/tests/sim/gossip/hearsay-sim}
OUT=$(dirname "$0")/results
mkdir -p "$OUT"
nice -n 15 "$SIM" detect --nodes 1000 --trials 40 --quiet > "$OUT/sim-detect-N1000.txt"
: > "$OUT/sim-load.txt"
for n in 100 200 500 1000 2000; do
    nice -n 15 "$SIM" load --nodes "$n" --duration 60 --quiet >> "$OUT/sim-load.txt"
done
nice -n 15 "$SIM" gray --nodes 1000 --duration 3600 --quiet > "$OUT/sim-gray.txt"
if [ "${2:-}" = --big ]; then # hours of one core and more than 12 GB: not run yet
    nice -n 15 "$SIM" scale --nodes 10000 --trials 10 --quiet > "$OUT/sim-scale-N10000.txt"
fi
