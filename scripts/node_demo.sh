#!/usr/bin/env bash
# One command: a HISS node on 127.0.0.1:9000 over the embedded default (a buffer
# and a directory tier in target/node-demo), with examples/threshold_sum attached
# to the bucket `demo` (t = 1000). It prints the aws CLI lines that upload a frame
# and read the result, then serves until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
export HISS_ACCESS_KEY=${HISS_ACCESS_KEY:-hiss-demo}
export HISS_SECRET_KEY=${HISS_SECRET_KEY:-hiss-demo-secret}
export AWS_ACCESS_KEY_ID=$HISS_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$HISS_SECRET_KEY AWS_DEFAULT_REGION=us-east-1
port=${HISS_PORT:-9000}
dir=target/node-demo
cargo build --release --quiet -p hissc -p hiss-node
mkdir -p "$dir"
target/release/hissc bundle examples/threshold_sum/kernel.py --target ice40-hx8k -o "$dir/threshold_sum.hbx"
target/release/hiss-node --listen "127.0.0.1:$port" --data "$dir/data" &
node=$!
trap 'kill $node 2>/dev/null; wait $node 2>/dev/null' EXIT INT TERM
for _ in $(seq 50); do
  aws --endpoint-url "http://127.0.0.1:$port" s3 ls >/dev/null 2>&1 && break
  sleep 0.1
done
aws="aws --endpoint-url http://127.0.0.1:$port"
$aws s3 mb s3://demo >/dev/null 2>&1 || true
$aws s3api put-object --bucket demo --key .hiss/kernel.hbx --body "$dir/threshold_sum.hbx" \
  --metadata hiss-param-t=1000 >/dev/null
python3 -c "import numpy as np; np.save('$dir/frame.npy', np.random.default_rng(1).integers(0, 4096, (4, 32, 32), dtype=np.uint16))"
cat <<MSG

A HISS node listens on http://127.0.0.1:$port (buffer and tier in $dir/data);
threshold_sum (t = 1000) is attached to the bucket 'demo'. In another shell:

  export AWS_ACCESS_KEY_ID=$HISS_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$HISS_SECRET_KEY AWS_DEFAULT_REGION=us-east-1
  aws --endpoint-url http://127.0.0.1:$port s3 cp $dir/frame.npy s3://demo/run1/frames.npy
  aws --endpoint-url http://127.0.0.1:$port s3 cp s3://demo/.hiss/out/run1/frames.npy/out.npy out.npy
  python3 -c "import numpy as np; print(np.load('out.npy'))"

Ctrl-C stops the node.
MSG
wait $node
