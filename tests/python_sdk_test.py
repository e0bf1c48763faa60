#!/usr/bin/env python3
"""The Python client (sdk/python/tds_client) against a real tdsd.

Starts tdsd on 127.0.0.1:0 with --insecure-dev and a ready file (as tests/test_util.h does),
anchors a document through Python, reads its receipt back through the C++ `tds receipt` and
checks it with `tds verify`, then opens the receipt's envelope in Python and checks the
signature, the signer and the transaction inside. A second node runs mutual TLS (`tds cert`
certificates pinned in genesis) and the client connects with its certificate.

    python3 tests/python_sdk_test.py --bin-dir build/bin
    (PYTHONPATH must hold build/python, the generated stubs, and sdk/python.)

A missing python3-grpcio, python3-protobuf or python3-nacl, or stubs not generated, is a
FAILURE (exit 1), never a skip: the package is part of the product.
"""

import argparse
import base64
import ctypes
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

try:
    import grpc  # noqa: F401  (python3-grpcio)
    import nacl.signing  # noqa: F401  (python3-nacl)
    from proto import evidence_pb2, ledger_pb2
    from tds_client import TX_CONTEXT, Client, EnvelopeError, TdsError, open_envelope
    from tds_client.keys import KeyFileError, load_key_file
except ImportError as e:
    print(f"FAIL: the Python client cannot be imported: {e}\n"
          "Install python3-grpcio python3-grpc-tools python3-protobuf python3-nacl "
          "(deploy/install-deps.sh), build the `python_sdk` target, and put <build>/python and "
          "sdk/python on PYTHONPATH.", file=sys.stderr)
    sys.exit(1)

BIN_DIR = None  # set by main()
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    # Like tests/test_util.cc: the child is killed if this test process dies first.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def run(*args, check=True):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=120)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {r.returncode}\nstdout: {r.stdout}\n"
                             f"stderr: {r.stderr}")
    return r


def tds(*args, check=True):
    return run(os.path.join(BIN_DIR, "tds"), *args, check=check)


class Node:
    """tdsd on 127.0.0.1:0 with a fresh genesis: node (validator), bank (consumer, provider).

    Plaintext (--insecure-dev), or with tls=True mutual TLS: a consortium CA, a certificate for
    each member (`tds cert`) pinned in genesis; self.tls[member] = (cert, key), self.ca.
    """

    def __init__(self, work, tls=False):
        self.work = work
        self.keys = {}
        self.tls = {}
        if tls:
            self.ca = os.path.join(work, "ca", "ca.crt")
            tds("cert", "ca", "--out-dir", os.path.join(work, "ca"))
        members = []
        for member, roles in (("node", "validator"), ("bank", "consumer,provider")):
            path = os.path.join(work, f"{member}.key")
            self.keys[member] = path
            spec = f"{member}:{roles}:" + tds("keygen", "--out", path).stdout.strip()
            if tls:
                tls_dir = os.path.join(work, "tls")
                fingerprint = tds("cert", "issue", "--ca-dir", os.path.join(work, "ca"),
                                  "--member", member, "--out-dir", tls_dir).stdout.strip()
                self.tls[member] = (os.path.join(tls_dir, f"{member}.crt"),
                                    os.path.join(tls_dir, f"{member}.key"))
                spec += ":" + fingerprint
            members += ["--member", spec]
        self.genesis = os.path.join(work, "genesis.json")
        tds("genesis", "--origin", "python-sdk-test", *members, "--out", self.genesis)
        ready = os.path.join(work, "ready")
        self.log_path = os.path.join(work, "tdsd.log")
        self.log = open(self.log_path, "ab")
        transport = ["--insecure-dev"]
        if tls:
            transport = ["--tls-cert", self.tls["node"][0], "--tls-key", self.tls["node"][1],
                         "--tls-ca", self.ca]
        self.proc = subprocess.Popen(
            [os.path.join(BIN_DIR, "tdsd"), "--data", os.path.join(work, "data"), "--genesis",
             self.genesis, "--key", self.keys["node"], "--listen", "127.0.0.1:0",
             "--ready-file", ready, *transport],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 60
        while not os.path.exists(ready):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"tdsd did not become ready:\n{self.tail()}")
            time.sleep(0.05)
        with open(ready) as f:
            self.address = f.read().strip()

    def tail(self):
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-30:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class PythonSdkTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="tds-pytest-")
        cls.node = Node(cls.work)

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()
        if not os.environ.get("TDS_KEEP_TEST_DIRS"):
            shutil.rmtree(cls.work, ignore_errors=True)

    def client(self, member="bank"):
        key = self.node.keys[member] if member else None
        return Client(self.node.address, key_file=key, insecure_dev=True, timeout_s=30)

    def test_anchor_in_python_verifies_through_the_cpp_receipt_path(self):
        document = b"loan agreement #42, signed 2025-03-14\n"
        with self.client() as c:
            self.assertEqual(c.member_id, "bank")  # discovered from the node's membership
            ack = c.anchor(document, "contract", {"file": "loan-42.txt"})
            self.assertEqual(len(ack.txid), 32)
            self.assertGreaterEqual(ack.height, 1)
            python_receipt = c.get_receipt(ack.txid)

        # The C++ CLI fetches the same receipt and verifies it offline against the genesis.
        path = os.path.join(self.work, "receipt.json")
        tds("--node", self.node.address, "--insecure-dev", "receipt", ack.txid.hex(),
            "--out", path)
        verified = tds("verify", path, "--genesis", self.node.genesis)
        self.assertIn(ack.txid.hex(), verified.stdout + verified.stderr)

        with open(path) as f:
            receipt = json.load(f)
        self.assertEqual(receipt["txid"], ack.txid.hex())
        entry = base64.b64decode(receipt["entry"])
        self.assertEqual(entry, python_receipt.entry)

        # The envelope Python signed opens in Python: signature, signer, transaction, body.
        payload, signer = open_envelope(entry, TX_CONTEXT)
        bank_key = load_key_file(self.node.keys["bank"])
        self.assertEqual(signer, bytes(bank_key.verify_key))
        self.assertEqual(hashlib.sha256(payload).digest(), ack.txid)
        tx = ledger_pb2.Transaction()
        tx.ParseFromString(payload)
        self.assertEqual(tx.type, "evidence.anchor")
        self.assertEqual(tx.submitter, "bank")
        self.assertNotEqual(tx.nonce, 0)
        body = evidence_pb2.EvidenceAnchor()
        body.ParseFromString(tx.body)
        self.assertEqual(body.digest, hashlib.sha256(document).digest())
        self.assertEqual(body.doc_type, "contract")
        self.assertEqual(dict(body.metadata), {"file": "loan-42.txt"})

        # A signature holds only for its exact bytes and its context.
        with self.assertRaisesRegex(EnvelopeError, "context"):
            open_envelope(entry, "tds.query.v1")
        tampered = bytearray(entry)
        tampered[entry.index(b"evidence.anchor")] ^= 0x01
        with self.assertRaisesRegex(EnvelopeError, "does not verify"):
            open_envelope(bytes(tampered), TX_CONTEXT)

    def test_queries_are_signed_and_refusals_carry_the_nodes_message(self):
        with self.client() as c:
            self.assertEqual(c.search("zzz-no-such-word").total, 0)
            self.assertEqual(len(c.list_contracts().contracts), 0)
            self.assertEqual(len(c.list_usage().items), 0)
            status = c.node_status()
            self.assertEqual(status.role, "validator")
            self.assertEqual(status.member_id, "node")
            self.assertEqual(status.origin, "python-sdk-test")
            with self.assertRaises(TdsError) as missing:
                c.get_product("no-such-product")
            self.assertEqual(missing.exception.code, grpc.StatusCode.NOT_FOUND)
            self.assertEqual(missing.exception.message, "product 'no-such-product' not found")
            with self.assertRaises(TdsError) as bad:
                c.anchor(b"x", "Not A Type!")
            self.assertEqual(bad.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
            self.assertIn("doc_type", bad.exception.message)
        with self.client(member=None) as anonymous:
            self.assertIsNone(anonymous.member_id)
            with self.assertRaises(TdsError) as unsigned:
                anonymous.list_usage()
            self.assertEqual(unsigned.exception.code, grpc.StatusCode.UNAUTHENTICATED)
            with self.assertRaisesRegex(ValueError, "key_file"):
                anonymous.anchor(b"x", "contract")

    def test_the_list_products_example_shows_what_the_member_sees(self):
        product = os.path.join(self.work, "product.yaml")
        with open(product, "w") as f:
            f.write("id: py-invoices\ntitle: Invoice features\nlevel: 2\n"
                    "update_cadence: monthly\noperations: [psi]\n"
                    "schema:\n  - {name: tax_id, type: string, level: 2}\n"
                    "offer:\n  operations: [psi]\n  purposes: [credit_risk]\n"
                    "  columns: [tax_id]\n  metering: METERING_STRICT\n"
                    "  price: {currency: CNY, per_call: 100}\n")
        tds("--node", self.node.address, "--insecure-dev", "--key", self.node.keys["bank"],
            "product", "publish", product)
        example = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sdk", "python",
                               "examples", "list_products.py")
        r = run(sys.executable, example, "--node", self.node.address, "--key",
                self.node.keys["bank"], "--insecure-dev", "--text", "invoice")
        self.assertIn("py-invoices  v1  level 2  by bank: Invoice features", r.stdout)
        self.assertIn("operations psi; purposes credit_risk", r.stdout)
        self.assertIn("1 product(s) visible to bank", r.stdout)
        bad = run(sys.executable, example, "--node", self.node.address, check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertTrue(bad.stderr.startswith("error: no transport"), bad.stderr)

    def test_clients_refuse_unsafe_keys_and_missing_transport(self):
        loose = os.path.join(self.work, "loose.key")
        shutil.copy(self.node.keys["bank"], loose)
        os.chmod(loose, 0o644)
        with self.assertRaisesRegex(KeyFileError, "chmod 600"):
            load_key_file(loose)
        with self.assertRaisesRegex(ValueError, "insecure_dev=True"):
            Client(self.node.address, key_file=self.node.keys["bank"])
        stranger = os.path.join(self.work, "stranger.key")
        tds("keygen", "--out", stranger)
        with self.assertRaises(TdsError) as unknown:
            Client(self.node.address, key_file=stranger, insecure_dev=True)
        self.assertEqual(unknown.exception.code, grpc.StatusCode.NOT_FOUND)
        self.assertIn("is not the key of a current member", unknown.exception.message)


class PythonSdkTlsTest(unittest.TestCase):
    """The same client over mutual TLS: the node identifies the member by its certificate."""

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="tds-pytest-tls-")
        cls.node = Node(cls.work, tls=True)

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()
        if not os.environ.get("TDS_KEEP_TEST_DIRS"):
            shutil.rmtree(cls.work, ignore_errors=True)

    def test_a_member_connects_with_its_certificate_and_anchors(self):
        cert, key = self.node.tls["bank"]
        with Client(self.node.address, key_file=self.node.keys["bank"], tls_ca=self.node.ca,
                    tls_cert=cert, tls_key=key) as c:
            self.assertEqual(c.member_id, "bank")
            ack = c.anchor(b"over tls", "report")
            payload, _ = open_envelope(c.get_receipt(ack.txid).entry, TX_CONTEXT)
            self.assertEqual(hashlib.sha256(payload).digest(), ack.txid)
        # Without a member key the certificate alone names the caller to the node.
        with Client(self.node.address, tls_ca=self.node.ca, tls_cert=cert, tls_key=key) as c:
            self.assertEqual(c.node_status().role, "validator")

    def test_plaintext_to_a_tls_node_fails_unavailable(self):
        with Client(self.node.address, insecure_dev=True, timeout_s=5) as c:
            with self.assertRaises(TdsError) as refused:
                c.status()
            self.assertEqual(refused.exception.code, grpc.StatusCode.UNAVAILABLE)
        with self.assertRaisesRegex(ValueError, "tls_ca .*missing.crt"):
            Client(self.node.address, tls_ca=os.path.join(self.work, "missing.crt"),
                   tls_cert=self.node.tls["bank"][0], tls_key=self.node.tls["bank"][1])


def main():
    global BIN_DIR
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", required=True, help="directory holding tds and tdsd")
    args, rest = parser.parse_known_args()
    BIN_DIR = args.bin_dir
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
