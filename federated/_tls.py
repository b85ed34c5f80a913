"""TLS and SuperNode keys of the deployment engine, made at first start into the keys dir.

The SuperLink serves TLS with a certificate from Weir's own CA; every SuperNode and the `flwr`
CLI trust that CA only. Each SuperNode signs its requests with its own ECDSA P-384 key, which the
SuperLink accepts only once `flwr supernode register` has recorded the public half.

Everything is made once and reused: a SuperNode at another site trusts *this* CA, so a missing
or mismatched file is an error to fix (restore it, or start over on purpose), never silently
replaced.
"""

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from federated._deploy_errors import FederatedTlsError
from privacy._keyring import _write_private

CURVE = ec.SECP384R1()  # P-384: the curve Flower's SuperNode authentication asks for
CA_DAYS, SERVER_DAYS = 3650, 825  # 825 days: the longest server certificate browsers accept
# Names the SuperLink answers to: loopback for the embedded engine, the compose service name.
SERVER_DNS = ("localhost", "flower-superlink")
SERVER_IPS = ("127.0.0.1", "::1")
NODE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")  # a file name: no dots, slashes or spaces


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """The CA certificate (given to SuperNodes and the CLI) and the SuperLink's pair."""

    ca_cert: Path
    server_cert: Path
    server_key: Path


@dataclass(frozen=True, slots=True)
class NodeKey:
    """One SuperNode's authentication key pair (OpenSSH format, as Flower reads it)."""

    name: str
    private: Path
    public: Path


def node_name(region: str) -> str:
    """The SuperNode (and key file) name of a region: "East China" -> "east-china"."""
    return re.sub(r"[^a-z0-9]+", "-", region.lower()).strip("-")


def flower_keys_dir(keys_dir: Path) -> Path:
    return keys_dir / "flower"


def tls_files(keys_dir: Path) -> TlsFiles:
    folder = flower_keys_dir(keys_dir) / "tls"
    return TlsFiles(folder / "ca.pem", folder / "superlink.pem", folder / "superlink.key")


def ensure_tls(keys_dir: Path, now: dt.datetime) -> TlsFiles:
    """Make the CA and the SuperLink certificate on first start; check them on every later one."""
    files = tls_files(keys_dir)
    paths = (files.ca_cert, files.server_cert, files.server_key)
    if not any(path.exists() for path in paths):
        _issue(files, now)
    check_tls(files, now)
    return files


def check_tls(files: TlsFiles, now: dt.datetime) -> None:
    """Raise FederatedTlsError naming the first file that is missing, unreadable or mismatched."""
    folder = files.ca_cert.parent
    for path in (files.ca_cert, files.server_cert, files.server_key):
        if not path.is_file():
            raise FederatedTlsError(
                f"TLS file {path} is missing. Restore it from backup, or delete {folder} to issue "
                "a new CA at next start (SuperNodes elsewhere must then get the new ca.pem)."
            )
    ca, server = _load_cert(files.ca_cert), _load_cert(files.server_cert)
    try:
        server.verify_directly_issued_by(ca)
    except (InvalidSignature, ValueError, TypeError) as err:
        raise FederatedTlsError(
            f"TLS certificate {files.server_cert} was not issued by the CA in {files.ca_cert}. "
            f"Restore the matching pair, or delete {folder} to issue new ones."
        ) from err
    if not server.not_valid_before_utc <= now <= server.not_valid_after_utc:
        raise FederatedTlsError(
            f"TLS certificate {files.server_cert} is valid only from {server.not_valid_before_utc:%Y-%m-%d} "
            f"to {server.not_valid_after_utc:%Y-%m-%d}. Delete {folder} to issue a new one."
        )
    key = _load_key(files.server_key)
    if key.public_key().public_numbers() != server.public_key().public_numbers():
        raise FederatedTlsError(
            f"TLS key {files.server_key} does not match certificate {files.server_cert}. "
            f"Restore the matching pair, or delete {folder} to issue new ones."
        )


def ensure_node_key(keys_dir: Path, name: str) -> NodeKey:
    """The SuperNode's P-384 key pair for silo `name`, made on first use."""
    if not NODE_NAME.match(name):
        raise FederatedTlsError(
            f"SuperNode name {name!r} is not allowed; use 1-63 of a-z, 0-9, '_' or '-', "
            "starting with a letter or digit."
        )
    folder = flower_keys_dir(keys_dir) / "supernodes"
    node = NodeKey(name, folder / f"{name}.key", folder / f"{name}.pub")
    if not node.private.exists():
        key = ec.generate_private_key(CURVE)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
        ssh = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        _write_private(node.private, pem)
        _write_private(node.public, ssh + b"\n")
    return node


def _issue(files: TlsFiles, now: dt.datetime) -> None:
    ca_key, server_key = ec.generate_private_key(CURVE), ec.generate_private_key(CURVE)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Weir Flower CA")])
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key(), now, CA_DAYS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .sign(ca_key, hashes.SHA384())
    )
    names = [x509.DNSName(name) for name in SERVER_DNS]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in SERVER_IPS]
    server_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_DNS[0])])
    server = (
        _builder(server_name, ca_name, server_key.public_key(), now, SERVER_DAYS)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA384())
    )
    # The CA's private key is not kept: nothing else is ever signed with it, so it cannot leak.
    _write_private(files.server_key, _key_pem(server_key))
    _write_private(files.server_cert, server.public_bytes(serialization.Encoding.PEM))
    _write_private(files.ca_cert, ca.public_bytes(serialization.Encoding.PEM))


def _builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePublicKey, now: dt.datetime, days: int
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))  # tolerate a little clock skew
        .not_valid_after(now + dt.timedelta(days=days))
    )


def _usage(cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_cert(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except ValueError as err:
        raise FederatedTlsError(f"TLS certificate {path} is not a PEM certificate. Restore it from backup.") from err


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as err:
        raise FederatedTlsError(f"TLS key {path} is not an unencrypted PEM key. Restore it from backup.") from err
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise FederatedTlsError(f"TLS key {path} is not an EC key. Restore it from backup.")
    return key
