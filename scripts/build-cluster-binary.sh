#!/usr/bin/env bash
# Builds an `mr` binary that runs on old cluster nodes: linked against glibc
# 2.17 (CentOS 7, Amazon Linux 2, and every newer distribution) instead of the
# build machine's glibc. A binary built on a recent distribution fails on an
# older node with "GLIBC_2.34 not found" inside the Hadoop/Spark task.
#
#   scripts/build-cluster-binary.sh [GLIBC_VERSION]     (default 2.17)
#
# Needs: pip install ziglang; cargo install cargo-zigbuild (both from the
# package registries). The result: target/x86_64-unknown-linux-gnu/release/mr
set -euo pipefail
cd "$(dirname "$0")/.."
GLIBC=${1:-2.17}
python3 -c "import ziglang" 2>/dev/null || python3 -m pip install --quiet ziglang
command -v cargo-zigbuild >/dev/null || cargo install --locked cargo-zigbuild
cargo zigbuild --release -p mr-cli --target "x86_64-unknown-linux-gnu.$GLIBC"
BIN=target/x86_64-unknown-linux-gnu/release/mr
echo "built $BIN; newest glibc symbol it needs:"
objdump -T "$BIN" | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -1
