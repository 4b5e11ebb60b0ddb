"""A Mosquitto of a test's own, run with the configuration we ship (deploy/mosquitto.conf:
persistence, a deep queue, the largest packet; with ``users``, also its password file and
deploy/mosquitto.acl) on a free port and in a directory of its own, so the test can stop and
restart it without touching the shared broker at 1883.

Without ``users`` the broker admits anonymous clients: the drills, whose subject is durability,
publish for several meters from one client, which the ACL would refuse."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DEPLOY = Path(__file__).parents[1] / "deploy"
CONFIG = DEPLOY / "mosquitto.conf"
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
    def __init__(self, users: dict[str, str] | None = None, tls: TlsFiles | None = None) -> None:
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        # Started as root, Mosquitto reads its files and saves as its own user, which cannot
        # enter pytest's private tmp_path: a directory it can reach.
        self.root = root = Path(tempfile.mkdtemp(prefix="wattline-mosquitto-"))
        root.chmod(0o777)
        replace = {
            "listener ": f"listener {self.port} 127.0.0.1",
            "persistence_location ": f"persistence_location {root}/",
        }
        if users:
            passwd = self._file("passwd", "".join(f"{u}:{pw}\n" for u, pw in users.items()))
            subprocess.run(["mosquitto_passwd", "-U", str(passwd)], check=True)  # hashes them
            acl = self._file("acl", (DEPLOY / "mosquitto.acl").read_text())
            replace["password_file "] = f"password_file {passwd}"
            replace["acl_file "] = f"acl_file {acl}"
        else:
            replace |= {"allow_anonymous ": "allow_anonymous true", "password_file ": "",
                        "acl_file ": ""}  # fmt: skip
        lines = []
        for line in CONFIG.read_text().splitlines():
            start = next((k for k in replace if line.startswith(k)), None)
            lines.append(replace[start] if start else line)
        if tls:
            files = {n: self._file(n, getattr(tls, n).read_text()) for n in ("ca", "cert", "key")}
            lines += [
                f"listener {self.tls_port} 127.0.0.1",
                f"cafile {files['ca']}",
                f"certfile {files['cert']}",
                f"keyfile {files['key']}",
                f"require_certificate {str(tls.require_certificate).lower()}",
            ]
        self.config = self._file("mosquitto.conf", "\n".join(lines) + "\n")
        self.log = root / "mosquitto.log"
        self.proc: subprocess.Popen | None = None

    def _file(self, name: str, text: str) -> Path:
        path = self.root / name
        path.write_text(text)
        path.chmod(0o644)
        return path

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

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
        """SIGTERM, as a service manager's restart does: Mosquitto saves its state and exits."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(15)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def dropped(self) -> bool:
        """Whether Mosquitto logged dropping messages (its queue limit)."""
        return "dropped" in self.log.read_text().lower() if self.log.exists() else False


def have_mosquitto() -> bool:
    return shutil.which("mosquitto") is not None
