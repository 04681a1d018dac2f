"""Deploying to a HISS node from Python: attach a kernel's bundle to a bucket,
upload frames from numpy arrays, read results and states back as arrays, and
follow the events the node sends back to the instrument. boto3 underneath (the
node speaks S3); the events route is signed the same way.

    node = hiss.Node("http://127.0.0.1:9000", key, secret)
    node.attach("run42", k.bundle("veto.hbx"), params={"t": 1, "min_lit": 60}, keep="out0")
    node.put("run42", "shot-0001.npy", frames)
    node.result("run42", "shot-0001.npy", "out1")
    for e in node.events("run42", follow=False): ...
"""

import io
import json
import urllib.request

import numpy as np

__all__ = ["Node"]


def _npy(a):
    buf = io.BytesIO()
    np.save(buf, np.asarray(a))
    return buf.getvalue()


class Node:
    """A client of one HISS node (see the module's documentation)."""

    def __init__(self, endpoint, key, secret, region="us-east-1"):
        import boto3
        from botocore.config import Config
        self.endpoint, self.key, self.secret, self.region = endpoint.rstrip("/"), key, secret, region
        self.s3 = boto3.client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
            region_name=region, config=Config(s3={"addressing_style": "path"}))

    def create_bucket(self, bucket):
        """Creates `bucket` unless this node already has it."""
        try:
            self.s3.create_bucket(Bucket=bucket)
        except self.s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        return bucket

    def attach(self, bucket, bundle, params=None, keep=None, inputs=None):
        """Attaches a bundle (a path or its bytes) to `bucket`: scalar parameters,
        the keep output (`"out"`, `"out0"`, ...), and the kernel's other array
        inputs (`.hiss/in/NAME.npy`). The node refuses a bundle that does not
        check out, with its reason (a botocore ClientError)."""
        self.create_bucket(bucket)
        for name, a in (inputs or {}).items():
            self.s3.put_object(Bucket=bucket, Key=f".hiss/in/{name}.npy", Body=_npy(a))
        if not isinstance(bundle, bytes):
            with open(bundle, "rb") as f:  # a path
                bundle = f.read()
        body = bundle
        meta = {f"hiss-param-{k}": str(int(v)) for k, v in (params or {}).items()}
        if keep:
            meta["hiss-keep"] = keep
        self.s3.put_object(Bucket=bucket, Key=".hiss/kernel.hbx", Body=body, Metadata=meta)

    def put(self, bucket, key, frames):
        """Uploads frames (one frame or a batch `[F, ...]`) as a `.npy` object; the
        kernel runs on them as they arrive."""
        self.s3.put_object(Bucket=bucket, Key=key, Body=_npy(frames))

    def _load(self, bucket, key):
        return np.load(io.BytesIO(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()))

    def result(self, bucket, key, output="out"):
        """The result `output` (`out`, `out0`, ...) of object `key`, as hissc run
        writes it; a variable-length output of a batch as `(values, offsets)`."""
        values = self._load(bucket, f".hiss/out/{key}/{output}.npy")
        try:
            return values, self._load(bucket, f".hiss/out/{key}/{output}_offsets.npy")
        except self.s3.exceptions.NoSuchKey:
            return values

    def state(self, bucket, name):
        """State `name` as the bucket's last object left it (zeros before one ran)."""
        return self._load(bucket, f".hiss/state/{name}.npy")

    def set_state(self, bucket, name, value):
        """Sets state `name` for the bucket's next object."""
        self.s3.put_object(Bucket=bucket, Key=f".hiss/state/{name}.npy", Body=_npy(value))

    def _signed(self, path):
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        req = AWSRequest(method="GET", url=self.endpoint + path)
        req.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
        S3SigV4Auth(Credentials(self.key, self.secret), "s3", self.region).add_auth(req)
        return urllib.request.Request(req.url, headers=dict(req.headers))

    def events(self, bucket, start=0, follow=True, timeout=None):
        """The bucket's events from position `start`, one dict per processed
        object (key, frames, kept, scalar outputs per frame, seq); with `follow`,
        new ones as they happen (until `timeout` seconds pass without one)."""
        path = f"/_hiss/v1/events?bucket={bucket}&from={start}" + ("" if follow else "&follow=0")
        with urllib.request.urlopen(self._signed(path), timeout=timeout) as r:
            for line in r:
                if line.strip():
                    yield json.loads(line)
