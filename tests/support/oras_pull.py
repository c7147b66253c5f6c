"""Pulls an artifact with the oras Python SDK, an independent OCI client.

usage: oras_pull.py REFERENCE OUTDIR [--plain-http] [--ca-file PEM]

Credentials come from ~/.docker/config.json, where `packctl registry login` writes them.
Prints the files written, one per line.
"""

import argparse
import sys

import oras.client


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("reference")
    parser.add_argument("outdir")
    parser.add_argument("--plain-http", action="store_true")
    parser.add_argument("--ca-file")
    args = parser.parse_args()
    client = oras.client.OrasClient(
        insecure=args.plain_http,
        tls_verify=args.ca_file if args.ca_file else True,
        auth_backend="basic",
    )
    files = client.pull(target=args.reference, outdir=args.outdir)
    for f in files:
        print(f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
