"""Wait until a Ray cluster has N GPUs (used by scripts/slurm_train.sbatch before training).

    python -m launcher.ray_wait --address HOST:PORT --gpus 16 [--timeout 600]
"""

import argparse
import sys
import time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--gpus", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--logs", help="the folder of each node's Ray log (named in the error)")
    args = parser.parse_args(argv)
    import ray

    deadline = time.monotonic() + args.timeout
    have = 0
    while time.monotonic() < deadline:
        try:
            ray.init(address=args.address, logging_level="ERROR")
            have = int(ray.cluster_resources().get("GPU", 0))
            ray.shutdown()
        except ConnectionError:
            have = 0
        if have >= args.gpus:
            print(f"ray cluster at {args.address}: {have} GPU(s) joined")
            return 0
        time.sleep(5)
    print(f"ray_wait: error: only {have} of {args.gpus} GPU(s) joined {args.address} in {args.timeout:.0f} s "
          f"(check the worker nodes' logs{': ' + args.logs + '/ray-NODE.log' if args.logs else ''})", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
