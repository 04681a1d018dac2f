"""Deploying to a HISS node from Python: attach a kernel's bundle to a bucket,
upload frames from numpy arrays, read results and states back as arrays, and
follow the events the node sends back to the instrument. boto3 underneath (the
node speaks S3); the events route is signed the same way.

    node = hiss.Node("http://127.0.0.1:9000", key, secret)
    node.attach("run42", k.bundle("veto.hbx"), params={"t": 1, "min_lit": 60}, keep="out0")
    node.put("run42", "shot-0001.npy", frames)
    node.result("run42", "shot-0001.npy", "out1")
    for e in node.events("run42", follow=False): ...

``hiss.LocalNode()`` starts a node on this machine (the wheel's ``hissc node``, on
a free port of 127.0.0.1) and is a ``Node`` client of it; the ``hiss-node``
command the wheel installs is the same server.
"""

import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import urllib.request

import numpy as np

__all__ = ["Node", "LocalNode"]


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

    def attach(self, bucket, bundle, params=None, keep=None, inputs=None, store=None):
        """Attaches a bundle (a path or its bytes) to `bucket`: scalar parameters,
        the keep output (`"out"`, `"out0"`, ...), the kernel's other array
        inputs (`.hiss/in/NAME.npy`), and how the bucket's kept frames are
        stored (`store="bslz4"`: an HDF5 file of bitshuffle-LZ4 chunks; by
        default as received). The node refuses a bundle that does not check
        out, with its reason (a botocore ClientError)."""
        from . import _integer
        # parameters are integers: checked before anything is sent
        meta = {f"hiss-param-{k}": str(_integer(k, v)) for k, v in (params or {}).items()}
        self.create_bucket(bucket)
        for name, a in (inputs or {}).items():
            self.s3.put_object(Bucket=bucket, Key=f".hiss/in/{name}.npy", Body=_npy(a))
        if not isinstance(bundle, bytes):
            with open(bundle, "rb") as f:  # a path
                bundle = f.read()
        body = bundle
        if keep:
            meta["hiss-keep"] = keep
        if store:
            meta["hiss-store"] = store
        self.s3.put_object(Bucket=bucket, Key=".hiss/kernel.hbx", Body=body, Metadata=meta)

    def put(self, bucket, key, frames, dataset=None, store=None):
        """Uploads frames (one frame or a batch `[F, ...]`) as a `.npy` object; the
        kernel runs on them as they arrive. Bytes (a detector's DECTRIS Stream V2
        series, an HDF5 file's contents, raw frames, a `.npy` file's contents)
        are uploaded as they are, and a path (`pathlib.Path` or `os.PathLike`;
        an HDF5 file the detector wrote, say) is uploaded from the file, in
        parts when it is large. `dataset` names an HDF5 object's frames
        (default `/entry/data/data`); `store="bslz4"` stores this object's kept
        frames as bitshuffle-LZ4 HDF5 whatever the bucket's default."""
        meta = {}
        if dataset:
            meta["hiss-dataset"] = dataset
        if store:
            meta["hiss-store"] = store
        if isinstance(frames, os.PathLike):
            self.s3.upload_file(os.fspath(frames), bucket, key, ExtraArgs={"Metadata": meta})
            return
        if isinstance(frames, (bytes, bytearray, memoryview)):
            body = bytes(frames)
        else:
            body = _npy(frames)
        self.s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata=meta)

    def get(self, bucket, key):
        """The bytes object `key` holds (with `hiss-keep`, only its kept frames)."""
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def _load(self, bucket, key):
        return np.load(io.BytesIO(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()))

    def outputs(self, bucket, key):
        """The names of the results of object `key` (`out`, or `out0`, `out1`, ...)."""
        prefix = f".hiss/out/{key}/"
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        names = [o["Key"][len(prefix):-4] for p in pages for o in p.get("Contents", [])]
        return sorted(n for n in names if "/" not in n and not n.endswith("_offsets"))

    def result(self, bucket, key, output="out"):
        """The result `output` (`out`, `out0`, ...) of object `key`, as hissc run
        writes it; a variable-length output of a batch as `(values, offsets)`. A
        name the object has no result of raises KeyError naming the ones it has
        (a tuple kernel's are `out0`, `out1`, ...)."""
        try:
            values = self._load(bucket, f".hiss/out/{key}/{output}.npy")
        except self.s3.exceptions.NoSuchKey:
            have = self.outputs(bucket, key)
            raise KeyError(
                f"object `{key}` in bucket `{bucket}` has no result `{output}`"
                + (f"; its results: {', '.join(have)}" if have else
                   " (it has no results: no kernel ran on it, or it has not arrived)")) from None
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

    def metrics(self):
        """The node's metrics (`/_hiss/v1/metrics`) as a dict: each sample's
        name with its labels (``'hiss_slot_frames_total{kind="cpu",slot="0"}'``)
        to its value."""
        with urllib.request.urlopen(self._signed("/_hiss/v1/metrics")) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def events(self, bucket, start=0, follow=True, timeout=None):
        """The bucket's events from position `start`, one dict per processed
        object (key, frames, kept, scalar outputs per frame, seq); with `follow`,
        new ones as they happen (until `timeout` seconds pass without one)."""
        path = f"/_hiss/v1/events?bucket={bucket}&from={start}" + ("" if follow else "&follow=0")
        try:
            with urllib.request.urlopen(self._signed(path), timeout=timeout) as r:
                for line in r:
                    if line.strip():
                        yield json.loads(line)
        except (TimeoutError, socket.timeout):
            # `timeout` seconds without an event: the follow ends
            return


class LocalNode(Node):
    """A HISS node on this machine for trying a deployment: ``hissc node`` (the
    installed toolchain's) listening on a free port of 127.0.0.1, over the
    buffer directory `data` (a temporary one, removed at `stop`, by default),
    with fresh keys unless given, on the slots `slots` names (``"cpu:4"``,
    ``"cpu:2,emulated:1"``; by default one CPU slot per core), sharing an
    object's frames among free CPU slots with `split_objects`; it is a
    ``Node`` client of itself.

        with hiss.LocalNode() as node:
            node.attach("run42", k.bundle("veto.hbx"), keep="out0")
            ...

    `stop()` (or leaving the ``with``) stops it gracefully: requests in flight
    finish. Its log (JSON lines) is `log_path`, in a directory of its own that
    `stop()` removes when the node exited cleanly."""

    def __init__(self, data=None, key=None, secret=None, keep_flushed=False, slots=None,
                 split_objects=False):
        from .toolchain import hissc_path
        self._owns_data = data is None
        self.data = tempfile.mkdtemp(prefix="hiss-node-") if data is None else os.fspath(data)
        os.makedirs(self.data, exist_ok=True)
        key = key or "hiss-" + secrets.token_hex(4)
        secret = secret or secrets.token_hex(16)
        # the log lives in a directory of its own, removed at `stop` unless the
        # node failed (then the error names it)
        self._log_dir = tempfile.mkdtemp(prefix="hiss-node-log-")
        self.log_path = os.path.join(self._log_dir, "node.log")
        env = dict(os.environ, HISS_ACCESS_KEY=key, HISS_SECRET_KEY=secret)
        cmd = [hissc_path(), "node", "--listen", "127.0.0.1:0", "--data", self.data, "--log-format", "json"]
        if keep_flushed:
            cmd.append("--keep-flushed")
        if slots:
            cmd += ["--slots", slots]
        if split_objects:
            cmd.append("--split-objects")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, env=env)
        # the node's first line on stdout is where it listens
        line = self.process.stdout.readline().decode()
        if "listening on" not in line:
            self.process.wait(timeout=30)
            with open(self.log_path, errors="replace") as f:
                raise RuntimeError(f"the node did not start (exit {self.process.returncode}): {f.read().strip()}")
        super().__init__(line.split()[-1], key, secret)

    def stop(self, timeout=60):
        """Stops the node gracefully (SIGTERM; requests in flight finish) and
        removes its temporary buffer; returns its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        if self._owns_data:
            shutil.rmtree(self.data, ignore_errors=True)
        if self.process.returncode == 0:
            shutil.rmtree(self._log_dir, ignore_errors=True)
        return self.process.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        state = "running" if self.process.poll() is None else f"stopped ({self.process.returncode})"
        return f"LocalNode({self.endpoint}, data={self.data!r}, {state})"

