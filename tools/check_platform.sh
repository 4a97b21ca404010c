#!/usr/bin/env sh
# The lock file pins tensorflow-cpu wheels, which exist for Linux x86_64 (and Windows).
# Elsewhere, say what to do instead of failing deep inside pip.
os=$(uname -s); arch=$(uname -m)
if [ "$os" = "Linux" ] && [ "$arch" = "x86_64" ]; then exit 0; fi
cat >&2 <<MSG
requirements.txt is locked for Linux x86_64 (tensorflow-cpu wheels); this machine is $os $arch.
What to do:
  - macOS / Linux arm64: use the universal lock (every platform, same pins and hashes):
        make lab LOCK=requirements.universal.txt
  - or conda: conda env create -f environment.yml (it installs the universal lock with pip).
  - Windows: use WSL2 (Ubuntu) and run the same make commands there.
MSG
exit 1
