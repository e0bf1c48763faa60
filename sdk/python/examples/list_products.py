#!/usr/bin/env python3
"""Lists the data products a member can see, with each one's offer.

    PYTHONPATH=build/python:sdk/python python3 sdk/python/examples/list_products.py \
        --node 127.0.0.1:7400 --key bank.key --insecure-dev [--text invoice]
"""

import argparse
import sys

from tds_client import Client, KeyFileError, TdsError


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--node", required=True, help="HOST:PORT of a TDS node")
    parser.add_argument("--key", help="member key file (without it: anonymous)")
    parser.add_argument("--insecure-dev", action="store_true", help="plaintext (development)")
    parser.add_argument("--tls-ca", help="CA certificate (PEM)")
    parser.add_argument("--tls-cert", help="member certificate (PEM)")
    parser.add_argument("--tls-key", help="member TLS key (PEM)")
    parser.add_argument("--text", default="", help="words every product must match")
    args = parser.parse_args()
    try:
        with Client(args.node, key_file=args.key, insecure_dev=args.insecure_dev,
                    tls_ca=args.tls_ca, tls_cert=args.tls_cert, tls_key=args.tls_key) as c:
            who = c.member_id or "anonymous"
            cursor, count = "", 0
            while True:
                page = c.search(args.text, limit=100, cursor=cursor)
                for p in page.products:
                    offer = c.get_product(p.id).product.offer
                    print(f"{p.id}  v{p.version}  level {p.level}  by {p.provider}: {p.title}")
                    print(f"    operations {','.join(offer.operations)}; "
                          f"purposes {','.join(offer.purposes)}")
                    count += 1
                cursor = page.next_cursor
                if not cursor:
                    break
            print(f"{count} product(s) visible to {who}")
    except (TdsError, KeyFileError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
