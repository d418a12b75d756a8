#!/usr/bin/env bash
# `make demo`: the story on the local lab, from a clean lab to a rolled-out fleet.
#
#  1. lab up: two systemd VMs (podman), each with sshd on its own port of 127.0.0.1, the Webex
#     emulator, a wheelhouse. Every playbook reaches the VMs as a real fleet's: over ssh as the
#     unprivileged deploy user, with become (inventories/lab)
#  2. provision five bots at webex_bot 1.0.8 + websockets 11.0.3, and show the fleet
#  3. canary barnacles with websockets 14.2 forced under webex_bot 1.0.8 (the story's
#     canary): its process stays up, the probe gets no reply, barnacles rolls back by itself
#  4. canary barnacles with webex_bot 1.3.1 + websockets 16.1: passes, and is watched after its gate
#  5. the incident in compressed time: after 60 s without traffic (the story's 8 h), toodles on the
#     old versions loses the first message and answers the second; the canary answers the first
#  6. roll out to the other four bots in batches (soak 0 and short pauses, for the demo): the canary
#     is judged against its four baseline bots first
#  7. show the fleet; roll toodles back, timed; show the fleet
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
        /^TASK \[(Print|Show|botfleet.deploy.gate : (Report|Judge|Show))/ { show = 1; print; next }
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

# Send one bot one message with botfleet's own probe; say whether it answered.
ask() {
    local bot=$1 what=$2 args
    args=$(printf '{"base_url": "%s/v1/", "token": "lab-probe-token", "to_person_email": "%s@lab.botfleet.invalid", "text": "status", "expect": "^%s status: ", "timeout": 10}' \
        "$webex" "$bot" "$bot")
    if ansible localhost -i localhost, -c local -e "ansible_python_interpreter=$(command -v python3)" \
        -m botfleet.deploy.webex_probe -a "$args" >"$out/demo-ask-$bot.log" 2>&1; then
        printf '   %-9s %-26s answered\n' "$bot" "$what:"
    else
        printf '   %-9s %-26s NO REPLY (lost)\n' "$bot" "$what:"
    fi
}

# The story's incident with 60 s for 8 h: the emulator's stale_after_idle fault makes a websocket
# of an old client (webex_bot 1.0.x) that had nothing delivered for 60 s swallow its next message
# and then close, as the story's bots did after a night without traffic.
incident() {
    local idle=60 bot
    for bot in toodles barnacles; do
        curl -sf -X POST -H 'Content-Type: application/json' \
            -d "{\"mode\": \"stale_after_idle\", \"seconds\": $idle, \"user_agent\": \"^webex_bot/1\\\\.0\\\\.\"}" \
            "$webex/_admin/faults/$bot" >/dev/null
    done
    echo "   nobody writes to the bots for $((idle + 5))s ..."
    sleep $((idle + 5))
    ask toodles "first message after idle"
    ask toodles "second message"
    ask barnacles "first message after idle"
    for bot in toodles barnacles; do curl -sf -X DELETE "$webex/_admin/faults/$bot" >/dev/null; done
}
webex=http://127.0.0.1:${BOTFLEET_LAB_PORT:-8790}

step "1. Lab: systemd VMs reached over ssh as deploy with become, Webex emulator, wheelhouse (fresh)"
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

step "5. The incident in compressed time: 60 s without traffic stand for the story's 8 hours"
incident

step "6. Roll out to the rest of the fleet in batches (soak 0, 10 s pauses, for the demo)"
play rollout ok playbooks/rollout.yml -e @lab/pins/new.yml -e botfleet_canary_soak=0 -e botfleet_rollout_pause=10
play status-2 ok playbooks/status.yml -e @lab/pins/new.yml

step "7. Roll toodles back to its previous release, timed (no package index involved)"
play rollback ok playbooks/rollback.yml -l toodles
play status-3 ok playbooks/status.yml -e @lab/pins/new.yml

step "What the operators got in Webex (botfleet_notify)"
PYTHONPATH= curl -s -H "Authorization: Bearer lab-ops-token" \
    "http://127.0.0.1:${BOTFLEET_LAB_PORT:-8790}/v1/messages/direct?personEmail=probe@lab.botfleet.invalid" \
    | python3 -c 'import json, sys; [print("  " + m["created"][11:19], m.get("markdown") or m.get("text")) for m in reversed(json.load(sys.stdin)["items"])]'

step "Done in $((SECONDS - started))s: reports in reports/fleet-status.md and .json; 'make lab-down' removes the lab"
exit $((failures > 0))
