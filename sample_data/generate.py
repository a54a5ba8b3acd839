#!/usr/bin/env python3
"""Write the Northwind Payments sample environment (see README.md next to this file).

    python sample_data/generate.py --out sample_data            # the checked-in data
    python sample_data/generate.py --out /tmp/bench --flows 4000000 \\
        --audit-events 500000 --no-gzip                         # benchmark volumes

Standard library only. The same seed and options give byte-identical files.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from generator import DEFAULTS, build  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="output directory (created if missing)")
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="random seed (default "
                   "%(default)s)")
    p.add_argument("--scale", type=float, default=1.0,
                   help="multiplier for background volumes not set explicitly (default 1.0)")
    p.add_argument("--flows", type=int, default=None, metavar="N",
                   help="VPC flow records in the assessed quarter's default-format files "
                        f"(default {DEFAULTS['q3_flows']} x scale)")
    p.add_argument("--audit-events", type=int, default=None, metavar="M",
                   help="audit event lines in the assessed quarter's log "
                        f"(default {DEFAULTS['q3_audit_events']} x scale)")
    p.add_argument("--no-gzip", action="store_true",
                   help="write the large logs uncompressed (for benchmarks)")
    args = p.parse_args(argv)
    if args.scale <= 0:
        p.error("--scale must be positive")
    started = time.perf_counter()
    try:
        manifest = build(args.out, seed=args.seed, scale=args.scale, flows=args.flows,
                         audit_events=args.audit_events, gzip_logs=not args.no_gzip)
    except ValueError as exc:
        p.error(str(exc))
    files = manifest["files"]
    total = sum(os.path.getsize(os.path.join(args.out, f["path"])) for f in files)
    print(f"wrote {len(files)} files, {total / 1e6:.1f} MB, to {args.out} in "
          f"{time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
