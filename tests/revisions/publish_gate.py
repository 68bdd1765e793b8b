"""Loaded into a test's Celery worker (`celery worker -I tests.revisions.publish_gate`): when
PUBLISH_GATE_DIR is set, a `version_published` listener (connected once the worker is ready,
so after feedback's own) writes `waiting` in that folder and holds the publish transaction
open until the file `open` appears there. The test kills the worker while it waits."""

import os
import time
from pathlib import Path

from celery.signals import worker_ready


def _gate(sender, **kwargs) -> None:
    folder = Path(os.environ["PUBLISH_GATE_DIR"])
    if (folder / "open").exists():
        return
    (folder / "waiting").touch()
    while not (folder / "open").exists():
        time.sleep(0.05)


@worker_ready.connect
def _connect(**kwargs) -> None:
    if os.environ.get("PUBLISH_GATE_DIR"):
        from revisions.signals import version_published

        version_published.connect(_gate, dispatch_uid="tests.publish_gate")
