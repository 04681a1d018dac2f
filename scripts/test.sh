#!/usr/bin/env bash
# Every test: the Rust test suite (unit, snapshot, property, differential, GHDL),
# the example kernels against CPython + numpy, and the conformance suite.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all -- --check
cargo clippy --release --all-targets --quiet -- -D warnings
cargo test --release --workspace

hissc=target/release/hissc
python3 testsuite/python/check_examples.py --hissc "$hissc"

# Random kernels against CPython + numpy (the interpreter and the simulator).
random_dir=$(mktemp -d)
target/release/hissc-gen "$random_dir" "${HISSC_NUMPY_CASES:-300}" "${HISSC_SEED:-$RANDOM}"
python3 testsuite/python/check_random.py --hissc "$hissc" "$random_dir" --sim
rm -rf "$random_dir"

# Mutated kernels: hissc must reject them cleanly, never panic (a fixed seed here;
# `scripts/fuzz_frontend.py --seed N --runs M` explores further).
python3 scripts/fuzz_frontend.py --hissc "$hissc" --runs 300 --seed 1

# The Python API (hiss.compile, hiss.Node) against numpy on the public cases and a
# real node, then the example notebook, headless, every cell checking its output
# (both on the hissc just built).
export HISSC="$PWD/$hissc"
python3 -m pytest -q testsuite/python/test_api.py testsuite/python/test_detector.py testsuite/python/test_node_slots.py
python3 scripts/run_notebook.py examples/notebook/pedestal_and_veto.ipynb

conformance=../shared/conformance/run.py
# The spine (issue 2): five kernels through all four stages and five bad kernels.
python3 "$conformance" --hissc "$hissc" \
  --only threshold_sum,zero_suppress,row_gain,frame_stats,keep_frame,float_division,while_loop,syntax_error,unknown_function,missing_annotation
# The project's own cases (kernels users wrote that once failed, checked against
# CPython + numpy through every stage) and kernels that must be rejected, at the
# marked line.
python3 "$conformance" --hissc "$hissc" --cases testsuite/cases --bad testsuite/bad
# The v2 language (state across frames, variable-length outputs, row and frame
# statistics applied back onto their rows and frames) and its bad kernels.
v2=(--cases ../shared/conformance/cases_v2 --bad ../shared/conformance/bad_v2)
python3 "$conformance" --hissc "$hissc" "${v2[@]}"
# The beamline kernel library: every kernel on its synthetic data against
# CPython + numpy through every stage (GHDL included).
python3 "$conformance" --hissc "$hissc" --cases stdlib-kernels --bad /dev/null
HISSC_LANES=4 python3 "$conformance" --hissc "$hissc" --cases stdlib-kernels --bad /dev/null
# Lanes: the whole public suite through every stage with up to 2, 4, 8, 16, 32 and 64
# elements per cycle (bit-exact at every lane count; a kernel that takes fewer
# lanes than asked says so with a warning).
for lanes in 2 4 8 16 32 64; do
  echo "conformance with $lanes lanes:"
  HISSC_LANES=$lanes python3 "$conformance" --hissc "$hissc"
  HISSC_LANES=$lanes python3 "$conformance" --hissc "$hissc" --cases testsuite/cases --bad testsuite/bad
  HISSC_LANES=$lanes python3 "$conformance" --hissc "$hissc" "${v2[@]}"
done
# Last, the whole public suite (its last line closes the run): every case through all four stages, every bad kernel.
python3 "$conformance" --hissc "$hissc"
