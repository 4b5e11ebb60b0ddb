"""Health checks and Prometheus metrics for every long-running wattline process.

- ``health``: what /healthz (alive) and /readyz (ready for work) check, and the answers;
- ``http``: a small side HTTP server for the processes without one (mqtt, jobs, dashboard);
  the OCPP server answers on its WebSocket port (ingest/ocpp/server.py);
- ``metrics``: the registry and every metric, with bounded labels;
- ``rollup_lag``: how far rollups trail their sources (for `wattline jobs`).
"""
