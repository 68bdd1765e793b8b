#!/usr/bin/env bash
# Create .venv with a Python >= 3.12 and install the project's dependencies (with uv when it can
# be had from PyPI; pip otherwise). Re-runs only when pyproject.toml changed.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

STAMP=".venv/.installed"
if [[ -f "$STAMP" && "$STAMP" -nt pyproject.toml && -x .venv/bin/python ]]; then exit 0; fi

find_python() {
  local candidate
  local candidates=(python3.14 python3.13 python3.12 python3)
  if command -v pyenv >/dev/null 2>&1; then
    candidates+=($(ls -d "$(pyenv root)"/versions/3.1[2-9]*/bin/python 2>/dev/null | sort -V -r))
  fi
  candidates+=(/usr/bin/python3 /usr/local/bin/python3)
  for candidate in "${candidates[@]}"; do
    if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then
      command -v "$candidate" 2>/dev/null || echo "$candidate"
      return 0
    fi
  done
  echo "No Python >= 3.12 found. Install one (e.g. apt-get install python3.12) and retry." >&2
  return 1
}

if [[ ! -x .venv/bin/python ]]; then
  PYTHON="$(find_python)"
  echo "== creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi
echo "== installing dependencies into .venv"
.venv/bin/python -m pip --version >/dev/null 2>&1 || .venv/bin/python -m ensurepip --upgrade >/dev/null
.venv/bin/python -m pip install -q --upgrade pip uv >/dev/null 2>&1 || true
if .venv/bin/python -m uv --version >/dev/null 2>&1; then
  UV_PYTHON_DOWNLOADS=never .venv/bin/python -m uv pip install -q --python .venv/bin/python \
    -r pyproject.toml --extra dev
else
  .venv/bin/python -m pip install -q -r <(.venv/bin/python - <<'PY'
import tomllib
data = tomllib.load(open("pyproject.toml", "rb"))
print("\n".join(data["project"]["dependencies"] + data["project"]["optional-dependencies"]["dev"]))
PY
)
fi
touch "$STAMP"
