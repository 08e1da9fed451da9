"""Self-checks run as scheduled jobs: GPU and host memory, stage liveness, queues, disk, OOM policy."""
