"""Sigstore bundles (v0.3, DSSE over an in-toto statement) checked and made with Python's
`cryptography`, independently of packctl, following cosign's specs/BUNDLE_SPEC.md and the
DSSE protocol (PAE, ECDSA P-256 with SHA-256).

usage: dsse_bundle.py verify BUNDLE PUBLIC_KEY_PEM DIGEST   (prints "verified")
       dsse_bundle.py make DIGEST BUNDLE_OUT PUBLIC_KEY_OUT (a new key; writes both)
"""

import base64
import hashlib
import json
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

PAYLOAD_TYPE = "application/vnd.in-toto+json"
PREDICATE = "https://sigstore.dev/cosign/sign/v1"


def pae(payload_type: str, payload: bytes) -> bytes:
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def verify(bundle_path: str, key_path: str, digest: str) -> int:
    bundle = json.load(open(bundle_path))
    assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json", bundle
    envelope = bundle["dsseEnvelope"]
    assert envelope["payloadType"] == PAYLOAD_TYPE
    payload = base64.b64decode(envelope["payload"])
    key = serialization.load_pem_public_key(open(key_path, "rb").read())
    der = serialization.PublicFormat.SubjectPublicKeyInfo
    hint = base64.b64encode(
        hashlib.sha256(key.public_bytes(serialization.Encoding.DER, der)).digest()
    ).decode()
    assert bundle["verificationMaterial"]["publicKey"]["hint"] == hint
    signature = base64.b64decode(envelope["signatures"][0]["sig"])
    key.verify(signature, pae(PAYLOAD_TYPE, payload), ec.ECDSA(hashes.SHA256()))
    statement = json.loads(payload)
    assert statement["_type"] == "https://in-toto.io/Statement/v1", statement
    assert statement["predicateType"] == PREDICATE, statement
    algorithm, hex_digest = digest.split(":")
    assert statement["subject"][0]["digest"] == {algorithm: hex_digest}, statement
    print("verified")
    return 0


def make(digest: str, bundle_out: str, key_out: str) -> int:
    key = ec.generate_private_key(ec.SECP256R1())
    algorithm, hex_digest = digest.split(":")
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"digest": {algorithm: hex_digest}}],
        "predicateType": PREDICATE,
        "predicate": {},
    }
    payload = json.dumps(statement, separators=(",", ":")).encode()
    signature = key.sign(pae(PAYLOAD_TYPE, payload), ec.ECDSA(hashes.SHA256()))
    public = key.public_key()
    spki = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    bundle = {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "publicKey": {"hint": base64.b64encode(hashlib.sha256(spki).digest()).decode()}
        },
        "dsseEnvelope": {
            "payload": base64.b64encode(payload).decode(),
            "payloadType": PAYLOAD_TYPE,
            "signatures": [{"sig": base64.b64encode(signature).decode()}],
        },
    }
    open(bundle_out, "w").write(json.dumps(bundle))
    open(key_out, "wb").write(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return 0


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    sys.exit(verify(*args) if command == "verify" else make(*args))
