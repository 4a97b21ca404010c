#!/usr/bin/env sh
# Print the path of a supported Python for the course's .venv, or get one, or explain.
#   tools/find_python.sh            any supported Python: 3.11 (3.11.5+; tested here), 3.12, 3.13
#   tools/find_python.sh 3.11       only 3.11 (environments/legacy: tensorflow-addons needs it)
# Order: $PYTHON if set (it must be supported), then python3.11, python3.12, python3.13, python3,
# python on PATH. None found: `uv python install` (uv from PATH, or installed by any Python 3
# into a small bootstrap venv, build/uv-bootstrap), saying what it did. Else one message with
# the options. Why 3.12/3.13 work although vit-keras 0.2.0 says Requires-Python <3.12: the set-up
# installs it with --ignore-requires-python (requirements-vit.txt); its code runs there.
only=${1:-}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

# version of an interpreter as "3.11.7", or nothing
version_of() { "$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null; }

# is this version supported (and allowed by the argument)?
supported() {
  major=${1%%.*}; rest=${1#*.}; minor=${rest%%.*}; micro=${rest#*.}
  [ "$major" = 3 ] || return 1
  if [ -n "$only" ] && [ "3.$minor" != "$only" ]; then return 1; fi
  case "$minor" in
    11) [ "$micro" -ge 5 ] ;;   # some pinned wheels (e.g. soupsieve) need 3.11.5
    12|13) return 0 ;;
    *) return 1 ;;
  esac
}

wanted=${only:-3.11, 3.12 or 3.13}

accept() {  # print the path; say once that 3.12/3.13 are not what CI here runs
  case "$2" in
    3.11.*) ;;
    *) echo "Note: using Python $2 ($1). The course supports 3.11-3.13, but its CI so far tests 3.11 only (3.12/3.13 are in .github/workflows/test.yml, not yet run); for the tested path use PYTHON=/path/to/python3.11." >&2 ;;
  esac
  echo "$1"; exit 0
}

if [ -n "${PYTHON:-}" ]; then
  path=$(command -v "$PYTHON" 2>/dev/null) && v=$(version_of "$path") && supported "$v" && accept "$path" "$v"
  echo "PYTHON=$PYTHON is ${v:+Python $v, }not a Python this set-up supports ($wanted). Unset PYTHON, or point it at one." >&2
  exit 1
fi

for candidate in python3.11 python3.12 python3.13 python3 python; do
  path=$(command -v "$candidate" 2>/dev/null) || continue
  v=$(version_of "$path") || continue
  if supported "$v"; then accept "$path" "$v"; fi
done

# None on PATH: provision one with uv (the version CI here tests).
target=${only:-3.11}
uv=$(command -v uv 2>/dev/null || true)
if [ -z "$uv" ] && [ -x "$repo/build/uv-bootstrap/bin/uv" ]; then uv=$repo/build/uv-bootstrap/bin/uv; fi
if [ -z "$uv" ]; then
  for candidate in python3 python; do
    boot=$(command -v "$candidate" 2>/dev/null) || continue
    echo "No Python $wanted found; installing uv (https://docs.astral.sh/uv) into build/uv-bootstrap with $boot to get one..." >&2
    if "$boot" -m venv "$repo/build/uv-bootstrap" >&2 && "$here/pip_install.sh" "$repo/build/uv-bootstrap/bin/python" uv >&2; then
      uv=$repo/build/uv-bootstrap/bin/uv; break
    fi
    echo "(that did not work: $boot has no working venv/pip)" >&2
  done
fi
if [ -n "$uv" ]; then
  echo "No Python $wanted found; running: $uv python install $target" >&2
  if "$uv" python install "$target" >&2 && path=$("$uv" python find "$target" 2>/dev/null) && v=$(version_of "$path") && supported "$v"; then
    echo "Installed Python $v with uv at $path (uv keeps it in its own folder; \`uv python uninstall $target\` removes it)." >&2
    echo "$path"; exit 0
  fi
  echo "uv could not install Python $target (it downloads from GitHub: is that reachable?)." >&2
fi

cat >&2 <<MSG
The course needs Python $wanted (3.11.5 or newer 3.11), and none was found
(tried \$PYTHON, python3.11, python3.12, python3.13, python3, python; and uv, which was not available or failed).
Get one, then run the same make command again:
  - Debian/Ubuntu:   sudo apt-get install python3.11-venv   (or python3.12-venv / python3.13-venv where packaged)
  - macOS:           brew install python@3.11
  - any system:      pip install uv && uv python install 3.11   (https://docs.astral.sh/uv)
  - pyenv:           pyenv install 3.11
  - conda:           conda env create -f environment.yml && conda activate transformers-course
Or point the course at an interpreter: PYTHON=/path/to/python3.11 make lab
MSG
exit 1
