#!/usr/bin/env python3
"""Independent verification of exported provenance bundles.

Usage: python3 verify_dsse.py <bundles.jsonl> <public.pem> [<public.pem>...]

Every line of the JSONL file is a Sigstore bundle v0.3 whose ``dsseEnvelope`` holds an in-toto
statement. The DSSE signatures are verified with securesystemslib (Debian's
python3-securesystemslib), not with this project's code: securesystemslib parses the public key,
checks the keyid and verifies the ECDSA signature over the DSSE pre-authentication encoding (PAE).
Then the hash chain of every execution is checked here: sequence 1..n in order, each statement
naming the SHA-256 of the previous payload, the last one a checkpoint sealing the n-1 before it.

Prints one line per failure and, last, ``independently verified: <N> signature(s) of <M>
execution(s), <F> failure(s)``. Exits 0 iff there is no failure and at least one signature
verified, 1 otherwise, 2 on a usage error or when a library is missing.
"""

import base64
import binascii
import hashlib
import json
import re
import sys

try:
    import securesystemslib
    from securesystemslib import exceptions as sslib_exceptions
    from securesystemslib.signer import Key, Signature
except ImportError:
    sys.stderr.write(
        "verify_dsse.py needs securesystemslib: apt-get install -y python3-securesystemslib\n"
    )
    sys.exit(2)

try:
    # securesystemslib's own ECDSA verification runs on cryptography (a Recommends of the Debian
    # package); here it only serialises the key to DER to compute the keyid the bundles carry
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
except ImportError:
    sys.stderr.write(
        "verify_dsse.py needs cryptography: apt-get install -y python3-cryptography\n"
    )
    sys.exit(2)

try:
    # securesystemslib >= 0.27
    from securesystemslib.dsse import Envelope
except ImportError:
    Envelope = None

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
IN_TOTO_STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
CHECKPOINT_SUFFIX = "/checkpoint/v1"

SCHEME_FOR_CURVE = {
    "secp256r1": "ecdsa-sha2-nistp256",
    "secp384r1": "ecdsa-sha2-nistp384",
}


class _SpecEnvelope:
    """The DSSE envelope, for securesystemslib < 0.27, which has no ``securesystemslib.dsse``.

    Only the PAE is computed here, as DSSE v1 defines it (the same expression as
    ``securesystemslib.dsse.Envelope.pae`` in later versions); keys and signatures are
    securesystemslib's and so is the verification.
    """

    def __init__(self, payload, payload_type, signatures):
        self.payload = payload
        self.payload_type = payload_type
        self.signatures = signatures

    @classmethod
    def from_dict(cls, data):
        return cls(
            base64.b64decode(data["payload"], validate=True),
            data["payloadType"],
            [Signature.from_dict(dict(s)) for s in data["signatures"]],
        )

    def pae(self):
        return b"DSSEv1 %d %b %d %b" % (
            len(self.payload_type.encode("utf-8")),
            self.payload_type.encode("utf-8"),
            len(self.payload),
            self.payload,
        )


EnvelopeClass = Envelope if Envelope is not None else _SpecEnvelope

# the PAE test vector of the DSSE v1 specification (protocol.md)
_PAE_VECTOR = EnvelopeClass(b"hello world", "http://example.com/HelloWorld", [])
assert (
    _PAE_VECTOR.pae() == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
), "DSSE PAE does not match the specification's test vector"


def load_keys(paths):
    """securesystemslib keys from PEM files; keyid = hex SHA-256 of the DER SubjectPublicKeyInfo."""
    keys = []
    for path in paths:
        with open(path, "r", encoding="utf-8") as f:
            text = f.read()
        blocks = re.findall(
            r"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", text, re.S
        )
        if not blocks:
            raise ValueError(f"{path}: no PEM public key")
        for pem in blocks:
            public = serialization.load_pem_public_key(pem.encode("ascii"))
            if not isinstance(public, ec.EllipticCurvePublicKey):
                raise ValueError(f"{path}: not an ECDSA public key")
            scheme = SCHEME_FOR_CURVE.get(public.curve.name)
            if scheme is None:
                raise ValueError(f"{path}: unsupported curve {public.curve.name}")
            der = public.public_bytes(
                serialization.Encoding.DER,
                serialization.PublicFormat.SubjectPublicKeyInfo,
            )
            keyid = hashlib.sha256(der).hexdigest()
            # dispatches through securesystemslib's KEY_FOR_TYPE_AND_SCHEME to SSlibKey
            keys.append(
                Key.from_dict(
                    keyid,
                    {"keytype": "ecdsa", "scheme": scheme, "keyval": {"public": pem}},
                )
            )
    return keys


def envelope_from_bundle(bundle):
    """A securesystemslib DSSE envelope from a bundle's dsseEnvelope.

    securesystemslib's Signature (and its DSSE Envelope) carries the signature as hex, where DSSE
    and Sigstore carry base64: only that encoding is converted.
    """
    dsse = bundle["dsseEnvelope"]
    signatures = []
    for s in dsse["signatures"]:
        sig = base64.b64decode(s["sig"], validate=True)
        signatures.append({"keyid": s.get("keyid", ""), "sig": sig.hex()})
    return EnvelopeClass.from_dict(
        {
            "payload": dsse["payload"],
            "payloadType": dsse["payloadType"],
            "signatures": signatures,
        }
    )


def verify_signatures(envelope, keys):
    """The number of the envelope's signatures that a key verifies, and the problems."""
    pae = envelope.pae()
    verified = 0
    problems = []
    for signature in envelope.signatures:
        candidates = [k for k in keys if k.keyid == signature.keyid]
        if not candidates:
            problems.append(f"signature by unknown key {signature.keyid or '(no keyid)'}")
            continue
        ok = False
        for key in candidates:
            try:
                key.verify_signature(signature, pae)
                ok = True
                break
            except sslib_exceptions.UnverifiedSignatureError:
                continue
        if ok:
            verified += 1
        else:
            problems.append(f"signature by key {signature.keyid} does not verify")
    if not envelope.signatures:
        problems.append("the envelope has no signature")
    return verified, problems


class Chain:
    def __init__(self, execution_id, first_line):
        self.id = execution_id
        self.first_line = first_line
        self.count = 0
        self.head = None
        self.closed = False
        self.last_line = first_line
        self.last_sequence = None


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    try:
        keys = load_keys(argv[2:])
    except (OSError, ValueError, sslib_exceptions.Error) as e:
        sys.stderr.write(f"cannot load the public keys: {e}\n")
        return 2

    failures = []
    signatures = 0
    chains = {}
    order = []
    current = None

    def fail(line, execution, sequence, problem):
        failures.append(
            f"line {line}: execution {execution or '?'} sequence {sequence if sequence is not None else '?'}: {problem}"
        )

    with open(argv[1], "r", encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()

    for number, text in enumerate(lines, start=1):
        execution = None
        sequence = None
        try:
            bundle = json.loads(text)
            envelope = envelope_from_bundle(bundle)
        except (ValueError, KeyError, TypeError, binascii.Error, sslib_exceptions.Error) as e:
            fail(number, None, None, f"not a bundle with a DSSE envelope: {e!r}")
            continue

        payload = envelope.payload
        try:
            statement = json.loads(payload.decode("utf-8"))
            predicate = statement["predicate"]
            execution = predicate["execution"]["id"]
            sequence = predicate["sequence"]
        except (ValueError, KeyError, TypeError) as e:
            statement = None
            fail(number, None, None, f"the payload is not a runbooks in-toto statement: {e!r}")

        verified, problems = verify_signatures(envelope, keys)
        signatures += verified
        for problem in problems:
            fail(number, execution, sequence, problem)
        if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE:
            fail(number, execution, sequence, f"payloadType is {envelope.payload_type!r}")
        if statement is None:
            continue
        if statement.get("_type") != IN_TOTO_STATEMENT_TYPE:
            fail(number, execution, sequence, f"_type is {statement.get('_type')!r}")

        chain = chains.get(execution)
        if chain is None:
            chain = Chain(execution, number)
            chains[execution] = chain
            order.append(execution)
        elif current != execution:
            fail(number, execution, sequence, "the execution's statements are not together")
        current = execution
        chain.last_line = number
        chain.last_sequence = sequence

        if chain.closed:
            fail(number, execution, sequence, "a statement after the execution's checkpoint")
        if sequence != chain.count + 1:
            fail(number, execution, sequence, f"expected sequence {chain.count + 1}")
        if predicate.get("previousStatementDigest") != chain.head:
            fail(
                number,
                execution,
                sequence,
                f"previousStatementDigest is {predicate.get('previousStatementDigest')}, "
                f"the previous statement's digest is {chain.head}",
            )
        if str(statement.get("predicateType", "")).endswith(CHECKPOINT_SUFFIX):
            chain.closed = True
            if predicate.get("count") != chain.count:
                fail(
                    number,
                    execution,
                    sequence,
                    f"checkpoint count is {predicate.get('count')}, {chain.count} statement(s) precede it",
                )
            if predicate.get("headDigest") != chain.head:
                fail(
                    number,
                    execution,
                    sequence,
                    f"checkpoint headDigest is {predicate.get('headDigest')}, "
                    f"the previous statement's digest is {chain.head}",
                )
        chain.count += 1
        chain.head = hashlib.sha256(payload).hexdigest()

    for execution in order:
        chain = chains[execution]
        if not chain.closed:
            fail(
                chain.last_line,
                execution,
                chain.last_sequence,
                "the execution's last statement is not a checkpoint",
            )

    for line in failures:
        print(line)
    sys.stderr.write(
        f"securesystemslib {securesystemslib.__version__}, DSSE PAE from "
        + (
            "securesystemslib.dsse.Envelope"
            if Envelope is not None
            else "the DSSE v1 specification (this securesystemslib has no dsse module)"
        )
        + "\n"
    )
    print(
        f"independently verified: {signatures} signature(s) of {len(order)} execution(s), "
        f"{len(failures)} failure(s)"
    )
    return 0 if not failures and signatures > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
