#!/usr/bin/env sh
# The one place where the set-up runs pip: tools/pip_install.sh PYTHON PIP-INSTALL-ARGUMENTS...
# Every install of `make setup` (and of environments/legacy, and the uv bootstrap of
# tools/find_python.sh) goes through here, so that an option for all of them (for example a
# workshop's wheel mirror) is added once. PIP_OPTS adds options from the environment.
set -eu
python=$1; shift
# shellcheck disable=SC2086  # PIP_OPTS is a list of options
exec "$python" -m pip install --quiet --disable-pip-version-check ${PIP_OPTS:-} "$@"
