#!/usr/bin/env bash
# `make demo`: the story on the local lab, from a clean lab to a rolled-out fleet.
#
#  1. lab up: two systemd VMs (podman), the Webex emulator, a wheelhouse
#  2. provision five bots at webex_bot 1.0.8 + websockets 11.0.3, and show the fleet
#  3. canary barnacles with websockets 14.2 forced under webex_bot 1.0.8 (the story's
#     canary): its process stays up, the probe gets no reply, barnacles rolls back by itself
#  4. canary barnacles with webex_bot 1.3.1 + websockets 16.1: passes
#  5. roll out to the other four bots in batches (soak 0 and short pauses, for the demo)
#  6. show the fleet; roll toodles back, timed; show the fleet
#
# Each step prints its summary; the full Ansible output is in lab/out/demo-*.log.
# BOTFLEET_DEMO_VERBOSE=1 shows it all. `make lab-down` removes everything.
set -euo pipefail
cd "$(dirname "$0")/.."

out=lab/out
mkdir -p "$out"
inventory=inventories/lab
started=$SECONDS
verbose=${BOTFLEET_DEMO_VERBOSE:-0}
failures=0

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# Show what a reader needs: our summary tasks, failures, the recap.
summarize() {
    awk '
        /^TASK \[(Print|botfleet.deploy.gate : Report)/ { show = 1; print; next }
        /^TASK \[/ || /^PLAY \[/ { show = 0 }
        /^PLAY RECAP/ { show = 1 }
        /^\[ERROR\]: Task failed: Action failed: (canary|rollout|rollback)/ { print; next }
        show { print }
    ' "$1"
}

play() {
    local name=$1 expect=$2
    shift 2
    local log=$out/demo-$name.log t0=$SECONDS rc=0
    if [[ $verbose == 1 ]]; then
        ansible-playbook -i "$inventory" "$@" 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
    else
        ansible-playbook -i "$inventory" "$@" >"$log" 2>&1 || rc=$?
        summarize "$log"
    fi
    local took=$((SECONDS - t0))
    if [[ $expect == ok && $rc -ne 0 ]] || [[ $expect == fail && $rc -eq 0 ]]; then
        printf '\033[31m-- %s: exit code %s, which the demo did not expect (log: %s)\033[0m\n' "$name" "$rc" "$log"
        failures=$((failures + 1))
        return 1
    fi
    printf -- '-- %s took %ss (exit code %s, as expected; log: %s)\n' "$name" "$took" "$rc" "$log"
}

step "1. Lab: systemd VMs, Webex emulator, wheelhouse (fresh)"
lab/lab.sh down >/dev/null
lab/lab.sh wheelhouse
lab/lab.sh up

step "2. Provision five bots at webex_bot 1.0.8 + websockets 11.0.3"
play provision ok playbooks/provision.yml
play status-1 ok playbooks/status.yml

step "3. Canary barnacles with websockets 14.2 forced under webex_bot 1.0.8 (expected to fail and roll back)"
play canary-story fail playbooks/canary.yml -l barnacles -e @lab/pins/story.yml

step "4. Canary barnacles with webex_bot 1.3.1 + websockets 16.1"
play canary-new ok playbooks/canary.yml -l barnacles -e @lab/pins/new.yml

step "5. Roll out to the rest of the fleet in batches (soak 0, 10 s pauses, for the demo)"
play rollout ok playbooks/rollout.yml -e @lab/pins/new.yml -e botfleet_canary_soak=0 -e botfleet_rollout_pause=10
play status-2 ok playbooks/status.yml -e @lab/pins/new.yml

step "6. Roll toodles back to its previous release, timed (no package index involved)"
play rollback ok playbooks/rollback.yml -l toodles
play status-3 ok playbooks/status.yml -e @lab/pins/new.yml

step "What the operators got in Webex (botfleet_notify)"
PYTHONPATH= curl -s -H "Authorization: Bearer lab-ops-token" \
    "http://127.0.0.1:${BOTFLEET_LAB_PORT:-8790}/v1/messages/direct?personEmail=probe@lab.botfleet.invalid" \
    | python3 -c 'import json, sys; [print("  " + m["created"][11:19], m.get("markdown") or m.get("text")) for m in reversed(json.load(sys.stdin)["items"])]'

step "Done in $((SECONDS - started))s: reports in reports/fleet-status.md and .json; 'make lab-down' removes the lab"
exit $((failures > 0))
