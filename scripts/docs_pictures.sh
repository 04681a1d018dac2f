#!/usr/bin/env bash
# Renders the process networks the docs show (`hissc --emit dot`, Graphviz's
# dot) into docs/img/: run again when the lowering changes.
set -euo pipefail
cd "$(dirname "$0")/.."
hissc=${HISSC:-target/release/hissc}
for k in threshold_sum vsum; do
  "$hissc" --emit dot "examples/$k/kernel.py" | dot -Tsvg -o "docs/img/$k.svg"
  echo "docs/img/$k.svg"
done
"$hissc" --emit dot --lanes 4 examples/threshold_sum/kernel.py | dot -Tsvg -o docs/img/threshold_sum_4lanes.svg
echo docs/img/threshold_sum_4lanes.svg
