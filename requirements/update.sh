#!/usr/bin/env bash
# Regenerate the hashed locks from pyproject.toml. Run from anywhere; needs uv
# (`python3 -m pip install uv`). Commit both files together with the change that
# needed them, and say in the commit which versions moved and why.
#
#   test.txt  runtime + test extras + build backend: the README's test command and CI
#   run.txt   runtime + build backend, constrained to test.txt's pins, so the demo
#             runs on exactly the versions the suite passed on
#
# --universal writes one lock for every platform and Python >= 3.11, with markers
# where they differ (numpy/contourpy by Python version, colorama on Windows).
set -euo pipefail
cd "$(dirname "$0")/.."
common=(--universal --python-version 3.11 --generate-hashes --quiet)
uv pip compile pyproject.toml requirements/build.in --extra test "${common[@]}" \
  -o requirements/test.txt "$@"
uv pip compile pyproject.toml requirements/build.in "${common[@]}" \
  -c requirements/test.txt -o requirements/run.txt
echo "requirements/test.txt and requirements/run.txt regenerated"
