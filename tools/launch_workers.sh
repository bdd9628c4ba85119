#!/usr/bin/env bash
# Launch recipes for `amalgam worker` processes on a cluster (README "Many machines"). The
# coordinator is one process started apart (`amalgam search SPACE --store URL --workers 0`);
# these start the workers, which wait for it if they come first and end once it has stopped.
#   tools/launch_workers.sh command URL NAME [THREADS]        the worker command line itself
#   tools/launch_workers.sh slurm URL COUNT [THREADS]         an sbatch script: a job array of COUNT workers
#   tools/launch_workers.sh k8s URL COUNT [THREADS] [IMAGE]   a Kubernetes Indexed Job of COUNT workers
# URL is the run's store, postgres://user@host/db?run=NAME; keep the password out of it (PGPASSWORD,
# ~/.pgpass, or the Secret the Job reads). Every machine must see the run's model and task files
# at the paths the coordinator froze, or map them with --path-map FROM=TO (add it to the command).
set -euo pipefail
usage() { sed -n '2,10p' "$0" >&2; exit 2; }
[ $# -ge 3 ] || usage
kind=$1 url=$2 third=$3 threads=${4:-}
quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
worker() {  # name expression, threads
  printf 'amalgam worker --store %s --name %s%s --exit-when-idle 30m' "$(quote "$url")" "$1" "${2:+ --threads $2}"
}
case $kind in
  command)
    worker "$(quote "$third")" "$threads"; echo ;;
  slurm)
    echo '#!/bin/bash'
    echo '#SBATCH --job-name=amalgam-workers'
    echo "#SBATCH --array=0-$((third - 1))"
    echo '#SBATCH --ntasks=1'
    [ -z "$threads" ] || echo "#SBATCH --cpus-per-task=$threads"
    echo '#SBATCH --output=amalgam-worker-%A-%a.log'
    echo '# One amalgam worker per array task; the coordinator runs elsewhere (amalgam search ... --workers 0).'
    echo 'set -euo pipefail'
    echo "exec $(worker '"slurm-${SLURM_ARRAY_JOB_ID}-${SLURM_ARRAY_TASK_ID}"' "$threads")"
    ;;
  k8s)
    image=${5:-amalgam:latest}
    cat <<YAML
# One amalgam worker per completion index; the coordinator runs elsewhere (amalgam search ... --workers 0).
# PGPASSWORD comes from the Secret amalgam-store (key password), if the server needs one.
apiVersion: batch/v1
kind: Job
metadata:
  name: amalgam-workers
spec:
  completionMode: Indexed
  completions: $third
  parallelism: $third
  backoffLimit: $((third * 2))
  template:
    spec:
      restartPolicy: OnFailure
      containers:
        - name: worker
          image: $image
          command: ["/bin/sh", "-c"]
          args:
            - exec $(worker '"k8s-${JOB_COMPLETION_INDEX}"' "$threads")
          env:
            - name: PGPASSWORD
              valueFrom: {secretKeyRef: {name: amalgam-store, key: password, optional: true}}
YAML
    [ -z "$threads" ] || echo "          resources: {requests: {cpu: \"$threads\"}, limits: {cpu: \"$threads\"}}"
    ;;
  *) usage ;;
esac
