"""A member's client for a TDS node: catalog search, contracts, usage, receipts, evidence.

    from tds_client import Client
    with Client("127.0.0.1:7400", key_file="bank.key", insecure_dev=True) as c:
        for p in c.search("invoice").products:
            print(p.id, p.title)

Transactions are built and signed exactly as the C++ SDK does (sdk/client.h BuildTransaction):
a tds.Transaction serialized once, sealed in an Envelope under "tds.tx.v1". Queries carry a
fresh signed identity (sdk/query_client.h): an Envelope under "tds.query.v1" over a
tds.QueryIdentity {member_id, issued_ms}, which the node accepts within 5 minutes of its clock.

Every failed call raises TdsError carrying the node's status code and message unchanged.
"""

import hashlib
import secrets
import time

import grpc

from proto import evidence_pb2
from proto import ledger_pb2
from proto import ledger_service_pb2
from proto import ledger_service_pb2_grpc
from proto import node_service_pb2
from proto import node_service_pb2_grpc
from proto import query_service_pb2
from proto import query_service_pb2_grpc
from tds_client.envelope import QUERY_CONTEXT, TX_CONTEXT, seal_envelope
from tds_client.keys import load_key_file

# The node's receive limit (node/server.h kMaxMessageBytes).
_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
_EVIDENCE_ANCHOR = "evidence.anchor"


class TdsError(Exception):
    """A refused or failed call: `code` is the grpc.StatusCode, `message` the node's words."""

    def __init__(self, code, message):
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message


def _now_ms():
    return int(time.time() * 1000)


def build_transaction(signing_key, member_id, tx_type, body, nonce=None, created_ms=None):
    """The serialized Envelope (context tds.tx.v1) over a Transaction; nonce None → random."""
    if nonce is None:
        nonce = 0
        while nonce == 0:
            nonce = secrets.randbits(64)
    tx = ledger_pb2.Transaction(type=tx_type, submitter=member_id, body=body, nonce=nonce,
                                created_ms=_now_ms() if created_ms is None else created_ms)
    # Serialized once here; these exact bytes are signed and carried from now on.
    return seal_envelope(signing_key, TX_CONTEXT, tx.SerializeToString())


def build_query_auth(signing_key, member_id, issued_ms=None):
    """The `auth` bytes of a query: a signed tds.QueryIdentity."""
    identity = query_service_pb2.QueryIdentity(
        member_id=member_id, issued_ms=_now_ms() if issued_ms is None else issued_ms)
    return seal_envelope(signing_key, QUERY_CONTEXT, identity.SerializeToString())


def _read(path, what):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise ValueError(f"{what} {path}: {e.strerror}") from None


class Client:
    """One channel to one node. Without a key file the client is anonymous (public catalog and
    membership only, no transactions)."""

    def __init__(self, address, key_file=None, member_id=None, *, insecure_dev=False,
                 tls_ca=None, tls_cert=None, tls_key=None, timeout_s=30.0):
        """Connects to `address` (HOST:PORT).

        Transport: mutual TLS with PEM files `tls_ca` (the data space's CA), `tls_cert` and
        `tls_key` (this member's certificate and key), or plaintext with insecure_dev=True
        (development only). `key_file` is the member's Ed25519 key file (tds keygen); its member
        id is looked up in the node's current membership unless `member_id` is given.
        """
        if not address:
            raise ValueError("address: expected HOST:PORT, got nothing")
        options = [("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
                   ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES)]
        tls = (tls_ca, tls_cert, tls_key)
        if insecure_dev:
            if any(tls):
                raise ValueError("pass TLS files or insecure_dev=True, not both")
            self._channel = grpc.insecure_channel(address, options=options)
        elif all(tls):
            credentials = grpc.ssl_channel_credentials(
                root_certificates=_read(tls_ca, "tls_ca"),
                private_key=_read(tls_key, "tls_key"),
                certificate_chain=_read(tls_cert, "tls_cert"))
            self._channel = grpc.secure_channel(address, credentials, options=options)
        else:
            raise ValueError("no transport: pass tls_ca, tls_cert and tls_key (mutual TLS), or "
                             "insecure_dev=True for a development node")
        self._timeout = timeout_s
        self._ledger = ledger_service_pb2_grpc.LedgerStub(self._channel)
        self._catalog = query_service_pb2_grpc.CatalogStub(self._channel)
        self._contracts = query_service_pb2_grpc.ContractsStub(self._channel)
        self._governance = query_service_pb2_grpc.GovernanceStub(self._channel)
        self._audit = node_service_pb2_grpc.AuditStub(self._channel)
        self._admin = node_service_pb2_grpc.AdminStub(self._channel)
        self._key = load_key_file(key_file) if key_file else None
        self.member_id = member_id
        if self._key is not None and not member_id:
            self.member_id = self.member_id_for(bytes(self._key.verify_key))

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- plumbing ---

    def _call(self, method, request):
        try:
            return method(request, timeout=self._timeout)
        except grpc.RpcError as e:
            raise TdsError(e.code(), e.details()) from None

    def _auth(self):
        if self._key is None:
            return b""
        return build_query_auth(self._key, self.member_id)

    def _require_key(self, what):
        if self._key is None:
            raise ValueError(f"{what} signs as a member: pass key_file")

    # --- membership ---

    def member_id_for(self, public_key):
        """The current member whose key is `public_key` (32 raw bytes)."""
        members = self._call(self._governance.ListMembers,
                             query_service_pb2.ListMembersRequest()).members
        wanted = public_key.hex()
        for m in members:
            if m.public_key.lower() == wanted:
                return m.id
        raise TdsError(grpc.StatusCode.NOT_FOUND,
                       f"key {wanted} is not the key of a current member of this data space")

    def members(self):
        return self._call(self._governance.ListMembers,
                          query_service_pb2.ListMembersRequest()).members

    # --- catalog ---

    def search(self, text="", provider="", max_level=0, operation="", tag="",
               include_retired=False, limit=0, cursor=""):
        """One page of products matching every word of `text` (SearchProductsResponse)."""
        return self._call(self._catalog.SearchProducts, query_service_pb2.SearchProductsRequest(
            auth=self._auth(), text=text, provider=provider, max_level=max_level,
            operation=operation, tag=tag, include_retired=include_retired,
            page=query_service_pb2.Page(limit=limit, cursor=cursor)))

    def get_product(self, product_id, version=0):
        """The product (latest version unless `version`) and its head (GetProductResponse)."""
        return self._call(self._catalog.GetProduct, query_service_pb2.GetProductRequest(
            auth=self._auth(), product_id=product_id, version=version))

    # --- contracts and usage ---

    def list_contracts(self, party="", state=0, product_id="", limit=0, cursor=""):
        """One page of contracts (your own unless you are an auditor or validator)."""
        return self._call(self._contracts.ListContracts, query_service_pb2.ListContractsRequest(
            auth=self._auth(), party=party, state=state, product_id=product_id,
            page=query_service_pb2.Page(limit=limit, cursor=cursor)))

    def get_contract(self, contract_id):
        return self._call(self._contracts.GetContract, query_service_pb2.GetContractRequest(
            auth=self._auth(), contract_id=contract_id))

    def list_usage(self, contract_id="", product_id="", provider="", consumer="", purpose="",
                   operation="", from_ms=0, to_ms=0, violations_only=False,
                   with_receipts=False, limit=0, cursor=""):
        """One page of usage records you may read (ListUsageResponse; items[].record)."""
        return self._call(self._contracts.ListUsage, query_service_pb2.ListUsageRequest(
            auth=self._auth(), contract_id=contract_id, product_id=product_id,
            provider=provider, consumer=consumer, purpose=purpose, operation=operation,
            from_ms=from_ms, to_ms=to_ms, violations_only=violations_only,
            with_receipts=with_receipts, page=query_service_pb2.Page(limit=limit, cursor=cursor)))

    def list_violations(self, term="", contract_id="", limit=0, cursor=""):
        """One page of usage records flagged as violations (Audit.ListViolations)."""
        return self._call(self._audit.ListViolations, node_service_pb2.ListViolationsRequest(
            auth=self._auth(), term=term, contract_id=contract_id,
            page=query_service_pb2.Page(limit=limit, cursor=cursor)))

    # --- ledger ---

    def get_receipt(self, txid):
        """The receipt (tds.Receipt) of a committed transaction; txid as bytes or 64 hex."""
        if isinstance(txid, str):
            txid = bytes.fromhex(txid)
        return self._call(self._ledger.GetReceipt,
                          ledger_service_pb2.GetReceiptRequest(txid=txid)).receipt

    def get_transaction(self, txid):
        if isinstance(txid, str):
            txid = bytes.fromhex(txid)
        return self._call(self._ledger.GetTransaction,
                          ledger_service_pb2.GetTransactionRequest(txid=txid))

    def submit(self, tx_type, body):
        """Signs and submits one transaction; returns the SubmitResponse once it is durable."""
        self._require_key("submit")
        envelope = build_transaction(self._key, self.member_id, tx_type, body)
        return self._call(self._ledger.Submit, ledger_service_pb2.SubmitRequest(envelope=envelope))

    def anchor(self, document, doc_type, metadata=None):
        """Anchors SHA-256(document) (bytes) as evidence; returns the SubmitResponse."""
        return self.anchor_digest(hashlib.sha256(document).digest(), doc_type, metadata)

    def anchor_digest(self, digest, doc_type, metadata=None):
        body = evidence_pb2.EvidenceAnchor(digest=digest, doc_type=doc_type,
                                           metadata=metadata or {})
        return self.submit(_EVIDENCE_ANCHOR, body.SerializeToString())

    # --- node ---

    def status(self):
        """The ledger's status (GetStatusResponse): origin, height, log size, ..."""
        return self._call(self._ledger.GetStatus, ledger_service_pb2.GetStatusRequest())

    def node_status(self):
        """Admin.GetNodeStatus (signed; members only)."""
        return self._call(self._admin.GetNodeStatus,
                          node_service_pb2.GetNodeStatusRequest(auth=self._auth()))
