#!/usr/bin/env bash
# The s3s project's own end-to-end suite (s3s-e2e, from crates.io) against a
# fresh hiss-node: its basic set by default, or the filter given as $1 (an
# s3s-e2e --filter; `.` runs every test). Installs s3s-e2e 0.14.1 first when it
# is missing (about 8 minutes on 2 cores: it builds the AWS SDK). Prints each
# test's verdict and the totals; exits non-zero if any test failed.
set -euo pipefail
cd "$(dirname "$0")/.."
filter=${1:-Basic}
if ! command -v s3s-e2e >/dev/null; then
  echo "== installing s3s-e2e 0.14.1 (cargo install; several minutes)"
  cargo install --quiet --locked s3s-e2e --version 0.14.1
fi
cargo build --release --quiet -p hiss-node
work=$(mktemp -d)
export HISS_ACCESS_KEY=s3s-e2e HISS_SECRET_KEY=s3s-e2e-secret-key
target/release/hiss-node --listen 127.0.0.1:0 --data "$work/data" >"$work/addr" 2>"$work/node.log" &
node=$!
trap 'kill $node 2>/dev/null; wait $node 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/addr" ] && break; sleep 0.1; done
endpoint=$(awk '{print $NF}' "$work/addr")
echo "== s3s-e2e ($filter) against hiss-node at $endpoint"
AWS_ENDPOINT_URL=$endpoint AWS_ACCESS_KEY_ID=$HISS_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$HISS_SECRET_KEY \
  AWS_REGION=us-east-1 RUST_LOG=s3s_test=info s3s-e2e --filter "$filter" --json "$work/report.json"
python3 - "$work/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
results = []
def walk(node, path):
    if isinstance(node, dict):
        if "cases" in node and isinstance(node["cases"], list):
            for c in node["cases"]:
                results.append(("/".join(path + [node.get("name", ""), c["name"]]).strip("/"), c["passed"], c.get("ignored")))
        for k, v in node.items():
            if k != "cases":
                walk(v, path + ([node["name"]] if "name" in node and k in ("fixtures", "suites") else []))
    elif isinstance(node, list):
        for v in node:
            walk(v, path)
walk(report, [])
for name, ok, ignored in results:
    print(f"{'ignored' if ignored else 'passed ' if ok else 'FAILED '} {name}")
passed = sum(1 for _, ok, ig in results if ok and not ig)
failed = sum(1 for _, ok, ig in results if not ok and not ig)
print(f"s3s-e2e: {passed} passed, {failed} failed")
sys.exit(1 if failed or not results else 0)
PY
