"""`wattline api`: the versioned HTTP JSON API (issue 16). The same figures as the CLI and the
dashboard, from the same analytics functions and named queries; this package only wires them
to HTTP, tokens and RFC 9457 problem documents."""

import os

# Each request computes on frames of a few rows; requests, not Polars threads, are what runs in
# parallel. One Polars thread per process costs a quarter less CPU per session detail (3.1 ms
# against 4.2 ms, bench/api.py). Set before anything here imports Polars.
os.environ.setdefault("POLARS_MAX_THREADS", "1")
