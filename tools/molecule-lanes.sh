#!/usr/bin/env bash
# Run molecule scenarios in parallel lanes: `molecule-lanes.sh "faults provision" "canary rollout venv"`.
# Each lane runs its scenarios one after the other; the lanes run side by side, which is safe
# because each scenario has its own containers, its own emulator port (BOTFLEET_LAB_PORT in its
# molecule.yml) and its own state directory. A scenario spends most of its time waiting for bots
# and systemd, so lanes side by side cut the wall time even on two CPUs.
#
# Each scenario's output goes to .build/molecule/<scenario>.log; a failed scenario's log is printed
# whole, a passed one's by its last lines. Exit status: 0 when every scenario passed.
set -euo pipefail

logs=${MOLECULE_LOG_DIR:-.build/molecule}
mkdir -p "$logs"

# Controller-side inputs every scenario's prepare builds when stale: built once here, so
# two lanes never build them at the same time.
lab/lab.sh wheelhouse
lab/lab.sh demo-repo

run_lane() {
    local scenario start rc
    for scenario in $1; do
        start=$SECONDS
        rc=0
        molecule test -s "$scenario" >"$logs/$scenario.log" 2>&1 || rc=$?
        echo "$scenario rc=$rc $((SECONDS - start))s" >>"$logs/lanes.txt"
        if [[ $rc -ne 0 ]]; then
            echo "molecule scenario $scenario FAILED (rc=$rc) after $((SECONDS - start)) s; its lane stops"
            return "$rc"
        fi
        echo "molecule scenario $scenario passed in $((SECONDS - start)) s"
    done
}

: >"$logs/lanes.txt"
pids=()
for lane in "$@"; do
    [[ -n ${lane// /} ]] || continue
    run_lane "$lane" &
    pids+=("$!")
done
failed=0
for pid in "${pids[@]}"; do
    wait "$pid" || failed=1
done

# Molecule looks for a scenario named `default` to share its instances and, finding none, logs
# "CRITICAL 'molecule/default/molecule.yml' glob failed" before it goes on without shared state
# (molecule/command/base.py). It is no error here (there is no default scenario on purpose), so
# that one line is left out of what is shown; the log files keep it.
shown() {
    grep -v "molecule/default/molecule.yml' glob failed" "$1" || true
}

while read -r scenario rc seconds; do
    log=$logs/$scenario.log
    if [[ $rc == rc=0 ]]; then
        printf '\n===== %s passed (%s), last lines of %s =====\n' "$scenario" "$seconds" "$log"
        shown "$log" | tail -n 25
    else
        printf '\n===== %s FAILED (%s), whole log %s =====\n' "$scenario" "$seconds" "$log"
        shown "$log"
    fi
done <"$logs/lanes.txt"
exit "$failed"
