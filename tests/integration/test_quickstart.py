"""The README's command-line quick start, run as written: `make run` in one process, the block
between the quickstart markers in a shell beside it, the way a newcomer would paste it."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import REDIS_URL

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(
    r"<!-- quickstart:begin[^>]*-->\s*```sh\n(.*?)```\s*<!-- quickstart:end -->", re.S
)
WALKTHROUGH_FILE = ROOT / "instance" / "walkthrough-project.json"

pytestmark = pytest.mark.whole_product


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def json_documents(output: str) -> list:
    """Every JSON object the commands printed, in order (pretty-printed or not)."""
    decoder, documents, at = json.JSONDecoder(), [], 0
    while (at := output.find("{", at)) != -1:
        try:
            document, end = decoder.raw_decode(output, at)
        except json.JSONDecodeError:
            at += 1
            continue
        documents.append(document)
        at = end
    return documents


def quickstart_block() -> str:
    match = BLOCK.search((ROOT / "README.md").read_text())
    assert match, "README.md has no quickstart block"
    return match.group(1)


@pytest.fixture
def product(tmp_path):
    """`make run` on a free port with a database of its own; stopped, whole, afterwards."""
    if WALKTHROUGH_FILE.exists():
        pytest.fail(f"{WALKTHROUGH_FILE} exists already: a walk-through of yours would be lost")
    port = free_port()
    environ = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "LANG": "C.UTF-8",
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'lunas.db'}",
        "REDIS_URL": REDIS_URL,
        "WEB_CONCURRENCY": "2",
        # Mail goes to a port nobody listens on, so `make run` starts no catcher beside the
        # developer's own (the quick start sends none).
        "SMTP_URL": f"smtp://127.0.0.1:{free_port()}",
    }
    log = (tmp_path / "make-run.log").open("w")
    process = subprocess.Popen(
        ["make", "run"],
        cwd=ROOT,
        env=environ,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/login", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        assert process.poll() is None, (tmp_path / "make-run.log").read_text()
        time.sleep(0.5)
    else:
        pytest.fail("make run did not answer:\n" + (tmp_path / "make-run.log").read_text())
    yield environ
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    log.close()
    WALKTHROUGH_FILE.unlink(missing_ok=True)


def test_the_readme_quick_start_takes_a_payment_from_checkout_to_settlement(product):
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", quickstart_block()],
        cwd=ROOT,
        env=product,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    documents = json_documents(result.stdout)
    checkout, notified, verify = documents[-3:]
    assert checkout["status"] == "pending" and checkout["invoice_url"].startswith(
        f"http://localhost:{product['PORT']}/pay/pur_"
    )
    assert notified["deliveries"][0]["status"] == 200
    assert verify["status"] == "settlement" and verify["order_id"] == "INV-0001"
    assert verify["redirect_url"] == (
        f"http://localhost:{product['PORT']}/_demo/store/warung-bu-sari"
    )
    # The secrets went to the git-ignored instance folder, readable by their owner only.
    assert WALKTHROUGH_FILE.stat().st_mode & 0o077 == 0
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(WALKTHROUGH_FILE)], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0
    # The demo store the buyer comes back to answers.
    assert requests.get(verify["redirect_url"], timeout=5).status_code == 200
