#!/usr/bin/env sh
# Print the lock file for this machine: requirements.txt on Linux x86_64 (tensorflow-cpu
# wheels, the platform CI tests), requirements.universal.txt elsewhere (macOS, Linux arm64:
# same pins, hashes for every platform). On Windows, explain WSL2 and fail.
os=$(uname -s); arch=$(uname -m)
case "$os-$arch" in
  Linux-x86_64|Linux-amd64) echo requirements.txt ;;
  Linux-*|Darwin-*)         echo requirements.universal.txt ;;
  MINGW*|MSYS*|CYGWIN*|Windows*)
    cat >&2 <<MSG
This is Windows ($os $arch). The course's set-up runs in a Unix shell: use WSL2.
  1. In PowerShell: wsl --install   (then restart, open "Ubuntu")
  2. In Ubuntu: sudo apt-get install make python3-venv git, clone the course, and run the same
     make commands there (make lab / make test).
MSG
    exit 1 ;;
  *)
    echo "$os $arch is not a platform the course knows; trying the universal lock (requirements.universal.txt)." >&2
    echo requirements.universal.txt ;;
esac
