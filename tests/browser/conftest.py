import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.conftest import BUNDLED, DATA


@pytest.fixture
def bundled_live(live_server, transactional_db):
    """A live server with the bundled versions (a transactional test may have emptied the
    tables before this one, so load them again if needed; loading is idempotent)."""
    from revisions.services import spec_ensure, version_import

    spec = spec_ensure(slug="model-spec", title="OpenAI Model Spec")
    for label in BUNDLED:
        version_import(
            spec=spec, label=label, data=(DATA / f"{label}.md").read_bytes(), publish=True
        )
    return live_server


@pytest.fixture
def watched_page(page):
    """A page that records console errors and CSP violations, for asserting none happened."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.problems = problems
    return page


@pytest.fixture(scope="session")
def axe():
    return Axe()


def serious_violations(results) -> list[str]:
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {len(v['nodes'])} nodes"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
