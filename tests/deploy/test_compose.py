"""docker-compose.yml as a deployer would check it, without a Docker engine: every service has a
health check (the wattline ones on /readyz at their agreed port), every image is pinned, no
secret is in plain environment, each *_FILE names a secret the service mounts, and Prometheus
scrapes every process. `docker-compose config -q` validates the file where it is installed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
# The processes and the port each answers /healthz, /readyz and /metrics on (COMMON conventions).
WATTLINE_PORTS = {
    "ingest-ocpp": 9000,
    "ingest-mqtt": 9101,
    "jobs": 9102,
    "dashboard": 9103,
    "api": 8080,
}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|PASSWD|API_KEY", re.IGNORECASE)
CREDENTIALS_IN_URL = re.compile(r"://[^/@\s]+:[^/@\s]+@")
# A generated password or token: 16+ characters of base64/hex alphabet with digits and letters.
TOKEN_LIKE = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9+/_=-]{16,}$")


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def _one_shot(name: str) -> bool:
    """A service that runs to completion (migrate): others wait for it to finish, so it has no
    health to check."""
    return SERVICES[name].get("restart") == "no" and any(
        (s.get("depends_on") or {}).get(name, {}).get("condition")
        == "service_completed_successfully"
        for s in SERVICES.values()
        if isinstance(s.get("depends_on"), dict)
    )


def test_every_long_running_service_has_a_health_check():
    assert set(WATTLINE_PORTS) <= set(SERVICES)
    for name, service in SERVICES.items():
        if _one_shot(name):
            assert "healthcheck" not in service, name
            continue
        check = service.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), name
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name


def test_wattline_services_check_readyz_on_their_port():
    for name, port in WATTLINE_PORTS.items():
        test = SERVICES[name]["healthcheck"]["test"]
        # The image has Python, not curl: a urllib one-liner that fails on any non-2xx answer.
        assert test[:3] == ["CMD", "python", "-c"], name
        assert f"urllib.request.urlopen('http://127.0.0.1:{port}/readyz'" in test[3], name


def test_database_checks_pg_isready_and_is_pinned():
    db = SERVICES["db"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert db["image"] == "timescale/timescaledb:2.28.3-pg15"


def test_every_image_is_pinned_to_a_version():
    text = (ROOT / "docker-compose.yml").read_text()
    assert ":latest" not in text
    for name, service in SERVICES.items():
        image = service.get("image")
        assert image, f"{name}: an image name (with a version) even when built"
        repository, _, tag = image.rpartition(":")
        assert repository and tag and "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest" and re.search(r"\d", tag), f"{name}: {image}"
        if not service.get("build"):
            # Third-party images: a version down to the minor at least (2.0.20, v2.55.1),
            # never a floating major like `eclipse-mosquitto:2`.
            assert re.search(r"\d+\.\d+", tag), f"{name}: {image} floats"


def test_the_image_builds_from_a_pinned_base():
    (base,) = re.findall(r"^FROM (\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", base), base


def test_no_secret_in_plain_environment():
    for name, service in SERVICES.items():
        for key, value in _env(service).items():
            if SECRET_NAME.search(key):
                assert key.endswith("_FILE"), f"{name}: {key} carries a secret in the clear"
                assert value.startswith("/run/secrets/"), f"{name}: {key}={value}"
            assert not CREDENTIALS_IN_URL.search(value), f"{name}: {key} has a password in a URL"
            assert not TOKEN_LIKE.match(value), f"{name}: {key}={value} looks like a token"
            assert not SECRET_NAME.search(re.sub(r"_FILE\b", "", value)) or value.startswith(
                "/run/secrets/"
            ), f"{name}: {key}={value} looks like a secret"


def test_each_file_variable_names_a_secret_the_service_mounts():
    declared = set(COMPOSE["secrets"])
    for name, service in SERVICES.items():
        mounted = set(service.get("secrets") or [])
        assert mounted <= declared, name
        for key, value in _env(service).items():
            if key.endswith("_FILE"):
                secret = value.removeprefix("/run/secrets/")
                assert secret in mounted, f"{name}: {key} names {secret}, not mounted"
    for secret in COMPOSE["secrets"].values():
        assert secret["file"].startswith("./deploy/secrets/")


def test_services_read_the_database_with_the_right_role():
    for name in WATTLINE_PORTS:
        env = _env(SERVICES[name])
        assert env["DATABASE_URL"] == "postgresql://wattline@db:5432/wattline"
        assert env["WATTLINE_READER_URL"] == "postgresql://wattline_reader@db:5432/wattline"
    datasource = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/datasources/wattline.yml").read_text()
    )["datasources"][0]
    assert datasource["user"] == "wattline_reader"
    assert datasource["secureJsonData"]["password"] == "$__file{/run/secrets/db_reader_password}"
    assert "db_reader_password" in SERVICES["grafana"]["secrets"]


def test_prometheus_scrapes_every_wattline_process():
    config = yaml.safe_load((ROOT / "deploy/prometheus.yml").read_text())
    targets = {t for job in config["scrape_configs"] for s in job["static_configs"]
               for t in s["targets"]}  # fmt: skip
    for name, port in WATTLINE_PORTS.items():
        assert f"{name}:{port}" in targets, name
        # The port the target names is the one the process is told to serve on.
        env = _env(SERVICES[name])
        assert str(port) in " ".join(SERVICES[name]["command"]) + " ".join(env.values())


def test_mounted_files_exist():
    for name, service in SERVICES.items():
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0]
            # What the repository ships (not the generated password file, not ./var).
            if source.startswith("./deploy/") and "mosquitto.passwd" not in source:
                assert (ROOT / source).exists(), f"{name}: {source}"


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_docker_compose_config_accepts_the_file():
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTLINE_")}
    result = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
