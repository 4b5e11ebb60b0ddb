"""A Mosquitto of the test's own running the configuration we ship (deploy/mosquitto.conf and
deploy/mosquitto.acl), changed only in its port and file paths, with a password file made from
the users the test names and, optionally, a TLS listener."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DEPLOY = Path(__file__).parents[3] / "deploy"
INGEST_USER = "wattline-ingest"  # the user deploy/mosquitto.acl lets read meters/#


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path
    require_certificate: bool = False  # clients must show a certificate signed by ``ca``


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, tmp: Path, users: dict[str, str], tls: TlsFiles | None = None) -> None:
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        # Started as root, Mosquitto reads its files and saves as its own user, which cannot
        # enter pytest's private tmp_path: the files live in a directory it can reach.
        data = self.data = Path(tempfile.mkdtemp(prefix="wattline-mosquitto-"))
        os.chmod(data, 0o777)
        passwd = data / "passwd"
        passwd.write_text("".join(f"{user}:{pw}\n" for user, pw in users.items()))
        subprocess.run(["mosquitto_passwd", "-U", str(passwd)], check=True)  # hashes them
        acl = data / "acl"
        shutil.copy(DEPLOY / "mosquitto.acl", acl)
        for path in (passwd, acl):
            os.chmod(path, 0o644)
        replace = {
            "listener ": f"listener {self.port} 127.0.0.1",
            "persistence_location ": f"persistence_location {data}/",
            "password_file ": f"password_file {passwd}",
            "acl_file ": f"acl_file {acl}",
        }
        lines = []
        for line in (DEPLOY / "mosquitto.conf").read_text().splitlines():
            start = next((k for k in replace if line.startswith(k)), None)
            lines.append(replace[start] if start else line)
        if tls:
            for name in ("ca", "cert", "key"):
                shutil.copy(getattr(tls, name), data / name)
                os.chmod(data / name, 0o644)
            lines += [
                f"listener {self.tls_port} 127.0.0.1",
                f"cafile {data / 'ca'}",
                f"certfile {data / 'cert'}",
                f"keyfile {data / 'key'}",
                f"require_certificate {str(tls.require_certificate).lower()}",
            ]
        self.config = tmp / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.log = tmp / "mosquitto.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                ["mosquitto", "-c", str(self.config)], stdout=log, stderr=log
            )
        deadline = time.monotonic() + 10
        for port in (self.port, self.tls_port):
            while port:
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or self.proc.poll() is not None:
                        raise RuntimeError(
                            f"mosquitto did not start:\n{self.log.read_text()}"
                        ) from None
                    time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM, as `docker compose restart` does: Mosquitto saves its state and exits."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.data, ignore_errors=True)
