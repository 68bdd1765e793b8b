"""Per-area additions to the canary crawl (tests/test_leaks.py), so each part of the site lists
its own routes next to its own canaries. A module here may define:

- `ROUTES: dict[str, Way]`: URL patterns (as `site_routes()` spells them) and how to fetch them;
- `values(w) -> dict[str, list[str]]`: real values for path parameters (merged into the crawl's);
- `missing(w) -> dict[str, list[str]]`: values that name nothing;
- `plant(w, *, make_user)`: create the area's internal material, each secret string registered
  with `w.mark(what)` / `w.email(what)` or put in `w.secrets`, so the crawl looks for it.

`w` is the crawl's World (tests/test_leaks.py): `w.items` (named feedback items), `w.staff`,
`w.draft_label`, `w.markers`, …"""

import importlib
import pkgutil
from types import ModuleType


def areas() -> list[ModuleType]:
    return [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name)
    ]
