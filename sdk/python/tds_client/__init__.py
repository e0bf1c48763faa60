"""Python client for a Trusted Data Space node (TDS).

The gRPC stubs are generated from the repository's proto/ into <build>/python by the CMake
target ``python_sdk`` (never committed); put that directory and sdk/python on PYTHONPATH::

    ninja -C build python_sdk
    PYTHONPATH=build/python:sdk/python python3 sdk/python/examples/list_products.py ...

See sdk/README.md.
"""

from tds_client.client import Client, TdsError
from tds_client.envelope import (
    QUERY_CONTEXT,
    TX_CONTEXT,
    EnvelopeError,
    open_envelope,
    seal_envelope,
    signed_message,
)
from tds_client.keys import KeyFileError, load_key_file

__all__ = [
    "Client",
    "TdsError",
    "QUERY_CONTEXT",
    "TX_CONTEXT",
    "EnvelopeError",
    "open_envelope",
    "seal_envelope",
    "signed_message",
    "KeyFileError",
    "load_key_file",
]
