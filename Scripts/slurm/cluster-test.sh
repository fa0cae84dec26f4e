#!/bin/bash
# make cluster-test: the Slurm recipes of this folder run for real on a
# single-node cluster started on this machine, and their result checked.
#
# - Starts munged, slurmctld and slurmd on localhost as root, with a key, a
#   config (slurm.conf: this node as `slurmd -C` describes it, one partition,
#   no accounting, no cgroups), state and logs in a temporary folder, on free
#   ports; nothing under /etc is used or changed.
# - Submits the whole chain of submit.sh with 3 array tasks per step over
#   IMAGES (default: every 10th image of the bundled demo's evaluation split,
#   EVAL, with its models in MODELS_DIR)
#   with the demo's edge and server: build (array) -> cache merge + plan ->
#   memo fill (array) -> memo merge, each afterok on the one before.
# - Builds the same cache on this machine in one process and fills the same
#   plan with `semcom sweep`, and checks that the two caches hold the same
#   datasets and attributes (Scripts/slurm/compare_caches.py, h5py).
# - Stops the daemons and removes the folder, whatever happened (on failure,
#   after printing the jobs' and daemons' logs).
#
# Needs root (the daemons), Debian's slurm-wlm and munge, python3-h5py;
# `make cluster-test` installs them and builds the release binary first.
# Takes under a minute on 2 cores (23 s with the release binary).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
export SEMCOM=${SEMCOM:-$repo/.build/release/semcom}
EVAL=${EVAL:-$repo/Demo/digits/eval}      # the bundled demo: its evaluation split (an ImageFolder tree) ...
MODELS_DIR=${MODELS_DIR:-$repo/Demo/models}  # ... and its edge.safetensors and server.safetensors
[ "$(id -u)" = 0 ] || { echo "cluster-test: needs root (it starts munged, slurmctld and slurmd)"; exit 2; }
[ -x "$SEMCOM" ] || { echo "cluster-test: no semcom binary at $SEMCOM (make release)"; exit 2; }
for tool in munged slurmctld slurmd sbatch squeue scontrol; do
    command -v $tool >/dev/null || { echo "cluster-test: $tool missing (apt-get install slurm-wlm munge)"; exit 2; }
done

T=$(mktemp -d /tmp/semcom-slurm.XXXXXX)
chmod 755 "$T"
failed=1
cleanup() {
    set +e
    if [ -f "$T/slurm.conf" ]; then
        SLURM_CONF=$T/slurm.conf scancel --quiet --user=root 2>/dev/null
    fi
    pids=$(cat "$T"/slurmd.pid "$T"/slurmctld.pid "$T"/munged.pid 2>/dev/null)
    for pid in $pids; do kill "$pid" 2>/dev/null; done
    for _ in $(seq 20); do  # up to 10 s to stop, then SIGKILL
        alive=0
        for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.5
    done
    for pid in $pids; do kill -9 "$pid" 2>/dev/null; done
    if [ $failed = 1 ]; then
        for f in "$T"/*.log "$T"/work/*.out; do [ -f "$f" ] && { echo "== $f"; tail -20 "$f"; }; done
    fi
    rm -rf "$T"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

echo "== munged, slurmctld, slurmd (config and state in $T)"
mkdir -p "$T/state" "$T/spool" "$T/work"
head -c 1024 /dev/urandom > "$T/munge.key"
chmod 400 "$T/munge.key"
munged --force --key-file="$T/munge.key" --socket="$T/munge.sock" --pid-file="$T/munged.pid" \
       --log-file="$T/munged.log" --seed-file="$T/munged.seed"
host=$(hostname -s)
node=$(slurmd -C | head -1 | sed "s/^NodeName=[^ ]*/NodeName=$host/")
cat > "$T/slurm.conf" <<CONF
ClusterName=semcom-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge.sock
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
MinJobAge=3600
$node State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$T/slurm.conf
slurmctld -i
slurmd
for _ in $(seq 60); do
    [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && break
    sleep 1
done
[ "$(sinfo -h -o %T)" = idle ] || { echo "cluster-test: the node did not come up: $(sinfo -h -o '%T %E')"; exit 1; }
sinfo

echo "== the chain of Scripts/slurm/submit.sh, 3 array tasks per step"
if [ -z "${IMAGES:-}" ]; then
    IMAGES=$T/images.csv
    find "$EVAL" -name '*.jpg' | sort | awk 'NR % 10 == 1' | while read -r f; do
        echo "$f,$(basename "$(dirname "$f")")"
    done > "$IMAGES"
    # labels: the folder's position among the class folders, as an ImageFolder reader numbers them
    ls "$EVAL" | awk '{ print $0 "," NR - 1 }' > "$T/classes"
    awk -F, 'NR == FNR { id[$1] = $2; next } { print $1 "," id[$2] }' "$T/classes" "$IMAGES" > "$T/labelled.csv"
    IMAGES=$T/labelled.csv
fi
export IMAGES WORK=$T/work
export MODELS="edge=auto:$MODELS_DIR/edge.safetensors server=auto:$MODELS_DIR/server.safetensors"
export BUILD_OPTIONS="--batch 8" FILL_OPTIONS="--batch 8"
export PLAN_OPTIONS="--edge edge --server server --rule-range 0.5:0.99:0.07 --gate-range 0,0.8"
ids=$("$repo/Scripts/slurm/submit.sh" 3)
echo "jobs (build, merge + plan, fill, merge memo): $ids"
start=$(date +%s)
while [ -n "$(squeue -h -o %i)" ]; do
    if [ $(($(date +%s) - start)) -gt 480 ]; then echo "cluster-test: jobs still queued after 8 minutes"; squeue; exit 1; fi
    # a failed step leaves the ones after it waiting for ever
    if squeue -h -o %r | grep -q DependencyNeverSatisfied; then echo "cluster-test: a job failed"; squeue; exit 1; fi
    sleep 2
done
echo "all jobs left the queue after $(($(date +%s) - start)) s"
bad=0
for id in $ids; do
    states=$(scontrol show job "$id" | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | sort | uniq -c | tr -s ' ')
    echo "job $id:$states"
    [ "$(echo "$states" | grep -v COMPLETED)" = "" ] || bad=1
done
[ $bad = 0 ] || { echo "cluster-test: a job did not complete"; exit 1; }

echo "== the same on this machine, in one process"
ref=$T/ref.h5
models=()
for m in $MODELS; do models+=(--model "$m"); done
"$SEMCOM" cache build --images "$IMAGES" "${models[@]}" --batch 8 --out "$ref" > /dev/null
# shellcheck disable=SC2086
"$SEMCOM" sweep --cache "$ref" $PLAN_OPTIONS --out "$T/sweep.csv" > /dev/null
/usr/bin/python3 "$repo/Scripts/slurm/compare_caches.py" "$WORK/cache.h5" "$ref"
failed=0
echo "cluster-test: passed"
