#!/usr/bin/env bash
# The lab's legacy mode: bots run the way the story's team runs them today, before botfleet.
# A checkout of the bots' repository in ~ir/pub/IR, one shared venv with webex_bot 1.0.8 and
# websockets 11.0.3 (from the lab wheelhouse, no index), and each bot started by hand:
#   cd ~/pub/IR && PYTHONPATH=. nohup .venv/bin/python webex_bots/<bot>.py > logs/<bot>.log 2>&1 &
# Its token comes from the environment it was started with. adopt.yml takes such bots over.
#
#   legacy.sh repo                       build the bots' repository (.cache/legacy-bot-repo)
#   legacy.sh up VM [BOT...]             check it out on VM, make the shared venv, start the bots
#   legacy.sh start VM BOT...            start bots by hand again (what an operator would type)
#   legacy.sh ps VM                      the bots' processes, as `ps aux | grep webex_bots` shows them
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
port=${BOTFLEET_LAB_PORT:-8790}
wheelhouse=${BOTFLEET_WHEELHOUSE:-$repo/.cache/wheelhouse}
legacy_repo=${BOTFLEET_LEGACY_REPO:-$repo/.cache/legacy-bot-repo}
bots_default="barnacles toodles money_ball jarvis msoar"
checkout=/home/ir/pub/IR
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/containers.conf}

legacy_repo() {
    # The demo repository (lab.sh demo-repo) at `good`, plus one script per bot, as the story's
    # repository has: webex_bots/<bot>.py. Fixed dates and author: the same inputs, the same commit.
    "$here/lab.sh" demo-repo >/dev/null
    local demo=${BOTFLEET_DEMO_REPO:-$repo/.cache/demo-bot-repo}
    local inputs
    inputs=$( (git -C "$demo" rev-parse good; cat "$0") | sha256sum | cut -c1-16)
    if [[ -f $legacy_repo.stamp && $(cat "$legacy_repo.stamp") == "$inputs" && -d $legacy_repo/.git ]]; then
        return 0
    fi
    rm -rf "$legacy_repo"
    git clone --quiet --branch good "$demo" "$legacy_repo" 2>/dev/null
    local git=(git -C "$legacy_repo" -c user.name=botfleet-lab -c user.email=lab@botfleet.invalid -c commit.gpgsign=false)
    "${git[@]}" checkout --quiet -B main
    for bot in $bots_default; do
        printf '%s\n' "\"\"\"The $bot bot: PYTHONPATH=. python webex_bots/$bot.py (its token from WEBEX_BOT_TOKEN).\"\"\"" \
            'import os' 'import sys' '' "os.environ.setdefault(\"BOTFLEET_BOT_NAME\", \"$bot\")" '' \
            'from botfleet_demo_bot.cli import main  # noqa: E402' '' 'sys.exit(main())' >"$legacy_repo/webex_bots/$bot.py"
    done
    export GIT_AUTHOR_DATE=2026-11-03T08:00:00Z GIT_COMMITTER_DATE=2026-11-03T08:00:00Z
    "${git[@]}" add webex_bots
    "${git[@]}" commit --quiet -m "One script per bot"
    "${git[@]}" tag -f legacy >/dev/null
    echo "$inputs" >"$legacy_repo.stamp"
}

start_bots() {
    local vm=$1
    shift
    for bot in "$@"; do
        # The token is in the environment of the shell that starts the bot, as in the story.
        podman exec "$vm" runuser -u ir -- env "WEBEX_BOT_TOKEN=lab-$bot-token" "BOTFLEET_WEBEX_BASE=http://127.0.0.1:$port" \
            sh -c "cd $checkout && PYTHONPATH=. nohup .venv/bin/python webex_bots/$bot.py > logs/$bot.log 2>&1 &"
    done
    for bot in "$@"; do
        for _ in $(seq 1 100); do
            podman exec "$vm" grep -q "starting as $bot" "$checkout/logs/$bot.log" 2>/dev/null && break
            sleep 0.2
        done
        echo "$vm: $bot started under nohup, logging to $checkout/logs/$bot.log"
    done
}

case ${1:-} in
repo)
    legacy_repo
    echo "legacy bot repository $legacy_repo at $(git -C "$legacy_repo" rev-parse --short=12 HEAD)"
    ;;
up)
    vm=${2:?usage: legacy.sh up VM [BOT...]}
    shift 2
    bots=${*:-$bots_default}
    legacy_repo
    podman exec "$vm" sh -c 'id ir >/dev/null 2>&1 || useradd --create-home --shell /bin/bash ir'
    podman exec "$vm" rm -rf "$checkout" /tmp/legacy-wheels
    podman exec "$vm" mkdir -p "$(dirname "$checkout")"
    podman cp "$legacy_repo" "$vm:$checkout"
    podman cp "$wheelhouse" "$vm:/tmp/legacy-wheels"
    podman exec "$vm" chown -R ir:ir /home/ir/pub
    podman exec "$vm" runuser -u ir -- sh -c "cd $checkout && mkdir -p logs && python3 -m venv .venv \
        && .venv/bin/pip install --quiet --no-index --find-links /tmp/legacy-wheels webex_bot==1.0.8 websockets==11.0.3"
    # shellcheck disable=SC2086
    start_bots "$vm" $bots
    ;;
start)
    vm=${2:?usage: legacy.sh start VM BOT...}
    shift 2
    start_bots "$vm" "$@"
    ;;
ps)
    podman exec "${2:?usage: legacy.sh ps VM}" ps -eo pid,user,args | grep '[w]ebex_bots/' || true
    ;;
*)
    echo "usage: $0 repo|up VM [BOT...]|start VM BOT...|ps VM" >&2
    exit 2
    ;;
esac
