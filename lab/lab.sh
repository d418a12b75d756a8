#!/usr/bin/env bash
# The local lab: two systemd "VMs" (podman containers on the host network) and
# the Webex emulator on 127.0.0.1. Everything it starts, `lab.sh down` removes.
#
# Its size: LAB_VMS=4 LAB_BOTS=40 (BOTFLEET_LAB_VM_COUNT, BOTFLEET_LAB_BOTS) start four VMs and
# give the emulator forty bots, the story's five and bot06..bot40, and write their inventory,
# $state/inventory (the lab's group_vars), with the bots in even blocks over the VMs. The
# default, two VMs and five bots, is inventories/lab.
#
#   lab.sh up | down | status
#   lab.sh ssh VM PORT           sshd of a running VM on 127.0.0.1:PORT, login deploy (molecule's canary)
#   lab.sh emulator-start | emulator-stop
#   lab.sh wheelhouse            build the controller-side wheelhouse the lab installs from
#   lab.sh demo-repo             build the demo bot's own git repository (tags good, broken)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
image=${BOTFLEET_LAB_IMAGE:-localhost/botfleet-lab:debian12-ssh}
vm_count=${BOTFLEET_LAB_VM_COUNT:-${LAB_VMS:-2}}
bot_count=${BOTFLEET_LAB_BOTS:-${LAB_BOTS:-5}}
vms=${BOTFLEET_LAB_VMS:-$(for n in $(seq 1 "$vm_count"); do printf 'botfleet-lab-vm%s ' "$n"; done)}
state=${BOTFLEET_LAB_STATE:-$repo/.cache/lab}
port=${BOTFLEET_LAB_PORT:-8790}
# The first VM's sshd port on 127.0.0.1; the next VMs take the next ones (inventories/lab).
ssh_port=${BOTFLEET_LAB_SSH_PORT:-2201}
python=${PYTHON:-$repo/.venv/bin/python}
wheelhouse=${BOTFLEET_WHEELHOUSE:-$repo/.cache/wheelhouse}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/containers.conf}

vm_up() {
    local name=$1
    if podman container exists "$name"; then
        podman start "$name" >/dev/null
    else
        podman run -d --name "$name" --hostname "$name" --network host --systemd always \
            --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 \
            --label botfleet-lab=1 "$image" /sbin/init >/dev/null
    fi
    for _ in $(seq 1 60); do
        status=$(podman exec "$name" systemctl is-system-running 2>/dev/null || true)
        case $status in running|degraded) echo "$name: systemd $status"; return 0 ;; esac
        sleep 0.5
    done
    echo "$name: systemd did not come up (last state: ${status:-none})" >&2
    return 1
}

# The VM's sshd on 127.0.0.1:PORT (the VMs share the host's network: port 22 is the host's),
# a login as deploy with the lab's key, and the VM's host key in the lab's known_hosts, read
# through podman rather than trusted on first use. Key pair and known_hosts: $state/ssh.
vm_ssh() {
    local name=$1 vm_port=$2 keys=$state/ssh key
    mkdir -p "$keys" && chmod 0700 "$keys"
    [[ -f $keys/id_ed25519 ]] || ssh-keygen -q -t ed25519 -N '' -C botfleet-lab -f "$keys/id_ed25519"
    # One multiplexed connection per VM carries all its bots (ControlPersist): MaxSessions.
    podman exec -i "$name" sh -euc '
        # sudo looks its host up on every call: a miss costs half a second each time.
        grep -q "[[:space:]]$(hostname)\$" /etc/hosts || printf "127.0.1.1\t%s\n" "$(hostname)" >>/etc/hosts
        [ -f /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key
        printf "%s\n" "ListenAddress 127.0.0.1:$1" "HostKey /etc/ssh/ssh_host_ed25519_key" \
            "AllowUsers deploy" "PermitRootLogin no" "PasswordAuthentication no" \
            "KbdInteractiveAuthentication no" "MaxSessions 100" "MaxStartups 100:30:200" \
            >/etc/ssh/sshd_config.d/botfleet-lab.conf
        install -d -m 0700 -o deploy -g deploy /home/deploy/.ssh
        install -m 0600 -o deploy -g deploy /dev/stdin /home/deploy/.ssh/authorized_keys
        systemctl enable --quiet ssh.service
        systemctl restart ssh.service
    ' sh "$vm_port" <"$keys/id_ed25519.pub"
    key=$(podman exec "$name" cat /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f1,2)
    touch "$keys/known_hosts"
    sed -i "/^\[127.0.0.1\]:$vm_port /d" "$keys/known_hosts"
    echo "[127.0.0.1]:$vm_port $key" >>"$keys/known_hosts"
    for _ in $(seq 1 50); do
        ssh -o BatchMode=yes -o UserKnownHostsFile="$keys/known_hosts" -o StrictHostKeyChecking=yes \
            -o ControlPath=none -i "$keys/id_ed25519" -p "$vm_port" deploy@127.0.0.1 sudo -n true 2>/dev/null \
            && { echo "$name: sshd on 127.0.0.1:$vm_port, login deploy with sudo"; return 0; }
        sleep 0.2
    done
    echo "$name: no ssh login as deploy on 127.0.0.1:$vm_port" >&2
    return 1
}

emulator_start() {
    mkdir -p "$state"
    if [[ -f $state/emulator.pid ]] && kill -0 "$(cat "$state/emulator.pid")" 2>/dev/null; then
        echo "webex emulator already running (pid $(cat "$state/emulator.pid"))"
        return 0
    fi
    PYTHONPATH=$here setsid "$python" -m webex_emulator --host 127.0.0.1 --port "$port" \
        --identities "$(identities)" --state-file "$state/emulator-state.json" \
        >"$state/emulator.log" 2>&1 < /dev/null &
    echo $! >"$state/emulator.pid"
    for _ in $(seq 1 50); do
        grep -q "listening on" "$state/emulator.log" 2>/dev/null && { echo "webex emulator on http://127.0.0.1:$port"; return 0; }
        kill -0 "$(cat "$state/emulator.pid")" 2>/dev/null || break
        sleep 0.1
    done
    cat "$state/emulator.log" >&2
    return 1
}

# The lab's identities: lab/identities.json, and bot06.. when the lab has more than five bots.
identities() {
    if ((bot_count <= 5)); then
        echo "$here/identities.json"
        return 0
    fi
    "$python" - "$here/identities.json" "$bot_count" "$state/identities.json" <<'EOF'
import json, sys
people = json.load(open(sys.argv[1]))
extra = [
    {"name": f"bot{n:02d}", "type": "bot", "token": f"lab-bot{n:02d}-token",
     "email": f"bot{n:02d}@lab.botfleet.invalid", "display_name": f"Bot {n:02d}"}
    for n in range(6, int(sys.argv[2]) + 1)
]
json.dump(people + extra, open(sys.argv[3], "w"), indent=1)
EOF
    echo "$state/identities.json"
}

# The inventory of a lab of another size than inventories/lab's: the story's five bots first.
scaled_inventory() {
    local dir=$state/inventory n=0 per vm_index bot
    mkdir -p "$dir"
    ln -sfn "$repo/inventories/lab/group_vars" "$dir/group_vars"
    per=$(((bot_count + vm_count - 1) / vm_count))
    {
        printf '%s\n' "---" "# Written by lab/lab.sh up: $vm_count VMs, $bot_count bots." "all:" "  vars:" \
            "    botfleet_lab_state_dir: $state" "    botfleet_lab_wheelhouse: $wheelhouse" "  children:" \
            "    bot_vms:" "      hosts:"
        for vm_index in $(seq 1 "$vm_count"); do printf '        lab-vm%s:\n' "$vm_index"; done
        printf '%s\n' "    lab_ssh:" "      vars:" "        ansible_group_priority: 10" "      children:" \
            "        bots:" "      hosts:"
        for vm_index in $(seq 1 "$vm_count"); do
            printf '        lab-vm%s:\n          ansible_port: %s\n' "$vm_index" $((ssh_port + vm_index - 1))
        done
        printf '%s\n' "    bots:" "      hosts:"
        for bot in barnacles toodles money_ball jarvis msoar $(seq -f 'bot%02g' 6 "$bot_count"); do
            ((n < bot_count)) || break
            printf '        %s:\n          botfleet_vm: lab-vm%s\n' "$bot" $((n / per + 1))
            n=$((n + 1))
        done
    } >"$dir/hosts.yml"
    echo "inventory of $vm_count VMs and $bot_count bots: $dir"
}

emulator_stop() {
    if [[ -f $state/emulator.pid ]]; then
        kill "$(cat "$state/emulator.pid")" 2>/dev/null || true
        rm -f "$state/emulator.pid"
    fi
}

wheelhouse() {
    # Wheels for every pin set the lab uses, for the VMs' Python (Debian 12: 3.11).
    mkdir -p "$wheelhouse"
    local stamp=$wheelhouse/.lab-stamp
    local inputs
    inputs=$({ cat "$here/demo_bot/pyproject.toml" "$here"/demo_bot/src/botfleet_demo_bot/*.py; declare -f wheelhouse; } | sha256sum | cut -c1-16)
    if [[ -f $stamp && $(cat "$stamp") == "$inputs" ]]; then
        echo "wheelhouse $wheelhouse is up to date"
        return 0
    fi
    rm -f "$wheelhouse"/botfleet_demo_bot-*.whl
    local pip=("$python" -m pip wheel --quiet --wheel-dir "$wheelhouse" --find-links "$wheelhouse")
    "${pip[@]}" "$here/demo_bot" webex_bot==1.0.8 websockets==11.0.3
    "${pip[@]}" websockets==14.2
    "${pip[@]}" webex_bot==1.3.1 websockets==16.1
    echo "$inputs" >"$stamp"
    echo "wheelhouse $wheelhouse: $(ls "$wheelhouse"/*.whl | wc -l) wheels"
}

demo_repo() {
    # The demo bot as the story's bots are deployed: a repository run as
    # `PYTHONPATH=. python webex_bots/demo.py` with a requirements.txt. Two commits: `good`,
    # and `broken`, whose status reply no longer matches the probe. Fixed dates and author:
    # the same inputs give the same commits.
    local dest=${BOTFLEET_DEMO_REPO:-$repo/.cache/demo-bot-repo}
    local inputs
    inputs=$({ cat "$here"/demo_bot/src/botfleet_demo_bot/*.py; declare -f demo_repo; } | sha256sum | cut -c1-16)
    if [[ -f $dest.stamp && $(cat "$dest.stamp") == "$inputs" && -d $dest/.git ]]; then
        echo "demo repository $dest is up to date"
        return 0
    fi
    rm -rf "$dest"
    mkdir -p "$dest/webex_bots"
    cp -r "$here/demo_bot/src/botfleet_demo_bot" "$dest/"
    rm -rf "$dest/botfleet_demo_bot/__pycache__"
    printf '%s\n' "webex_bot>=1.0.5" >"$dest/requirements.txt"
    printf '%s\n' '"""The demo bot, run from its repository: PYTHONPATH=. python webex_bots/demo.py"""' \
        'import sys' '' 'from botfleet_demo_bot.cli import main' '' 'sys.exit(main())' >"$dest/webex_bots/demo.py"
    local git=(git -C "$dest" -c user.name=botfleet-lab -c user.email=lab@botfleet.invalid -c commit.gpgsign=false)
    export GIT_AUTHOR_DATE=2026-11-01T08:00:00Z GIT_COMMITTER_DATE=2026-11-01T08:00:00Z
    "${git[@]}" init --quiet --initial-branch=main
    "${git[@]}" add -A
    "${git[@]}" commit --quiet -m "Demo bot answers status and echo"
    "${git[@]}" tag good
    sed -i 's/return f"{bot_name} status: "/return f"{bot_name} is fine: "/' "$dest/botfleet_demo_bot/commands.py"
    grep -q 'is fine: ' "$dest/botfleet_demo_bot/commands.py"
    export GIT_AUTHOR_DATE=2026-11-02T08:00:00Z GIT_COMMITTER_DATE=2026-11-02T08:00:00Z
    "${git[@]}" commit --quiet -am "Reword the status reply"
    "${git[@]}" tag broken
    echo "$inputs" >"$dest.stamp"
    echo "demo repository $dest: good $("${git[@]}" rev-parse --short=12 good), broken $("${git[@]}" rev-parse --short=12 broken)"
}

case ${1:-} in
up)
    podman image exists "$image" || "$here/image/build.sh"
    n=0
    for vm in $vms; do
        vm_up "$vm"
        vm_ssh "$vm" $((ssh_port + n))
        n=$((n + 1))
    done
    emulator_start
    if [[ $vm_count != 2 || $bot_count != 5 ]] && [[ -z ${BOTFLEET_LAB_VMS:-} ]]; then scaled_inventory; fi
    ;;
down)
    emulator_stop
    # Every VM of the lab, whatever size it was started with.
    for vm in $(podman ps -a --format '{{.Names}}' | grep -E '^botfleet-lab-vm[0-9]+$' || true) ${BOTFLEET_LAB_VMS:-}; do
        podman rm -f "$vm" >/dev/null 2>&1 && echo "removed $vm" || true
    done
    rm -rf "$state"
    ;;
status)
    for vm in $vms; do
        printf '%s: %s\n' "$vm" "$(podman inspect -f '{{.State.Status}}' "$vm" 2>/dev/null || echo absent)"
    done
    if [[ -f $state/emulator.pid ]] && kill -0 "$(cat "$state/emulator.pid")" 2>/dev/null; then
        echo "webex emulator: running on 127.0.0.1:$port"
    else
        echo "webex emulator: stopped"
    fi
    ;;
ssh) vm_ssh "${2:?usage: $0 ssh VM PORT}" "${3:?usage: $0 ssh VM PORT}" ;;
emulator-start) emulator_start ;;
emulator-stop) emulator_stop ;;
wheelhouse) wheelhouse ;;
demo-repo) demo_repo ;;
*)
    echo "usage: $0 up|down|status|ssh VM PORT|emulator-start|emulator-stop|wheelhouse|demo-repo" >&2
    exit 2
    ;;
esac
