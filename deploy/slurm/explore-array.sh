#!/usr/bin/env bash
# One raftcheck search as a Slurm job array: task k runs shard k of N
# (explore check --shard k/N). Submit from a directory on a shared file
# system, with the explore binary on the PATH:
#
#   sbatch --array=0-7 deploy/slurm/explore-array.sh --servers 3 --max-term 3 --max-values 2
#   # when the array is done:
#   explore merge results/shard-*-of-8.json
#
# The shard count is the array's size (SLURM_ARRAY_TASK_COUNT).
#SBATCH --job-name=raftcheck
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G
#SBATCH --output=results/slurm-%A_%a.log
set -euo pipefail
mkdir -p results
explore check "$@" --workers "${SLURM_CPUS_PER_TASK:-1}" --progress off \
	--shard "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT" --shard-out results \
	--out results/counterexamples && status=0 || status=$?
# 1 (a violation) and 4 (a goal this shard did not reach) are verdicts that
# explore merge combines; anything else is a failure of the task.
case $status in 0 | 1 | 4) exit 0 ;; *) exit "$status" ;; esac
