"""Credential providers, each used to read a real vault: MinIO (S3) with
credentials from credential_process, a role assumed through MinIO's own
STS (AssumeRole, signed with the source profile's keys), web identity
through MinIO's STS (AssumeRoleWithWebIdentity, MinIO set up with an
OpenID provider), the SSO token cache and the EC2 instance role; Azurite
(Blob, OAuth over https) with Azure AD tokens from a service principal
(secret or certificate), workload identity and managed identity.

Stand-ins are used only for the token endpoints themselves that no real
server here offers: the OpenID provider's discovery document and keys,
the SSO portal, the EC2 instance metadata service, and the Azure AD /
IMDS token endpoints. Each stand-in checks what it is asked."""

from __future__ import annotations

import datetime
import hashlib
import http.server
import json
import os
import subprocess
import threading
import urllib.parse

import pytest

import util
from test_remote import upload_s3

BUCKET = "creds-test"


def iso(delta_s: int) -> str:
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=delta_s)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def vault(minio):
    upload_s3(minio, BUCKET, "", util.SHOP_VAULT)
    return minio


def url(minio):
    return "s3://%s?endpoint=%s&style=path&region=%s" % (BUCKET, minio.url, minio.region)


@pytest.fixture(autouse=True)
def aws_home(tmp_path):
    (tmp_path / "home" / ".aws").mkdir(parents=True, exist_ok=True)


def base_env(tmp_path, **extra):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AZURE_"))}
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True, exist_ok=True)
    e.update(HOME=str(home), AWS_EC2_METADATA_DISABLED="true")
    e.update(extra)
    return e


def ls(velerofs, tmp_path, vault_url, env, *args):
    return subprocess.run([str(velerofs), "ls", "--cache", str(tmp_path / "cache"), *args, vault_url,
                           "backups"], env=env, capture_output=True, text=True, timeout=120)


def ok(r):
    assert r.returncode == 0, r.stderr
    assert "shop-only" in r.stdout.split("\n")
    assert "credentials" not in r.stderr or "unsigned" not in r.stderr


class StandIn:
    """A tiny HTTP server answering from a handler function; records requests."""

    def __init__(self, handler):
        self.requests = []
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def _do(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                outer.requests.append((self.command, self.path, dict(self.headers), body))
                status, ctype, data = handler(self.command, self.path, self.headers, body)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = _do

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


@pytest.fixture
def stand_in():
    servers = []

    def make(handler):
        s = StandIn(handler)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


# --------------------------------------------------------------------------
# credential_process


def process_profile(tmp_path, minio, expires_in=3600, fail=False):
    script = tmp_path / "cred.sh"
    log = tmp_path / "cred.log"
    script.write_text("#!/bin/sh\necho run >> %s\n%s\ncat <<EOF\n%s\nEOF\n" % (
        log, "echo broken >&2; exit 3" if fail else "",
        json.dumps({"Version": 1, "AccessKeyId": minio.access_key,
                    "SecretAccessKey": minio.secret_key, "Expiration": iso(expires_in)})))
    script.chmod(0o700)
    return "[profile proc]\ncredential_process = %s\n" % script, log


def test_credential_process(velerofs, vault, tmp_path):
    cfg, log = process_profile(tmp_path, vault)
    env = base_env(tmp_path, AWS_PROFILE="proc")
    (tmp_path / "home" / ".aws" / "config").write_text(cfg)
    ok(ls(velerofs, tmp_path, url(vault), env))
    assert log.read_text().count("run") == 1  # fetched once, reused


def test_credential_process_refreshed_before_expiry(mount, vault, tmp_path, monkeypatch):
    # credentials that expire within the refresh margin are fetched again for every request
    cfg, log = process_profile(tmp_path, vault, expires_in=120)
    for k, v in base_env(tmp_path, AWS_PROFILE="proc").items():
        monkeypatch.setenv(k, v)
    for k in list(os.environ):
        if k.startswith(("AWS_", "AZURE_")) and k not in ("AWS_PROFILE", "AWS_EC2_METADATA_DISABLED"):
            monkeypatch.delenv(k)
    (tmp_path / "home" / ".aws" / "config").write_text(cfg)
    m = mount(url(vault))
    names = os.listdir(m / "backups")
    assert "shop-only" in names
    # several backups opened from several threads: every request signed with a whole set
    threads = [threading.Thread(target=lambda n=n: (m / "backups" / n / "backup.yaml").read_bytes())
               for n in names if n != "latest"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log.read_text().count("run") > 2


def test_credential_process_fails(velerofs, vault, tmp_path):
    cfg, _ = process_profile(tmp_path, vault, fail=True)
    (tmp_path / "home" / ".aws" / "config").write_text(cfg)
    r = ls(velerofs, tmp_path, url(vault), base_env(tmp_path, AWS_PROFILE="proc"))
    assert r.returncode != 0
    assert "credential_process failed (exit status 3)" in r.stderr
    assert vault.secret_key not in r.stderr


# --------------------------------------------------------------------------
# role_arn + source_profile: MinIO's own STS AssumeRole


def test_assume_role_through_minio_sts(velerofs, vault, tmp_path):
    (tmp_path / "home" / ".aws" / "credentials").write_text(
        "[base]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (vault.access_key, vault.secret_key))
    (tmp_path / "home" / ".aws" / "config").write_text(
        "[profile reader]\nrole_arn = arn:aws:iam::123456789012:role/velerofs-reader\n"
        "source_profile = base\nrole_session_name = velerofs-test\n")
    env = base_env(tmp_path, AWS_PROFILE="reader", AWS_ENDPOINT_URL_STS=vault.url)
    r = ls(velerofs, tmp_path, url(vault), env)
    ok(r)
    # a wrong source key: MinIO's STS refuses it, and the message says where
    (tmp_path / "home" / ".aws" / "credentials").write_text(
        "[base]\naws_access_key_id = %s\naws_secret_access_key = wrong-secret-1234\n" % vault.access_key)
    r = ls(velerofs, tmp_path, url(vault), env)
    assert r.returncode != 0
    assert "AssumeRole" in r.stderr and "HTTP 403" in r.stderr
    assert "wrong-secret-1234" not in r.stderr


def test_role_chain_loop(velerofs, vault, tmp_path):
    (tmp_path / "home" / ".aws" / "config").write_text(
        "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n"
        "[profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = a\n")
    r = ls(velerofs, tmp_path, url(vault), base_env(tmp_path, AWS_PROFILE="a"))
    assert r.returncode != 0 and "source_profile chain" in r.stderr


# --------------------------------------------------------------------------
# SSO: the token `aws sso login` caches, exchanged at the portal (stand-in)


def test_sso_cached_token(velerofs, vault, tmp_path, stand_in):
    token = "sso-access-token-" + os.urandom(6).hex()

    def portal(method, path, headers, body):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        if (path.startswith("/federation/credentials") and headers.get("x-amz-sso_bearer_token") == token
                and q == {"account_id": ["123456789012"], "role_name": ["Backup Reader"]}):
            exp = int((datetime.datetime.now().timestamp() + 3600) * 1000)
            return 200, "application/json", json.dumps({"roleCredentials": {
                "accessKeyId": vault.access_key, "secretAccessKey": vault.secret_key,
                "sessionToken": None, "expiration": exp}}).encode()
        return 401, "application/json", b'{"message":"Session token not found or invalid"}'

    p = stand_in(portal)
    (tmp_path / "home" / ".aws" / "config").write_text(
        "[profile sso]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Backup Reader\n"
        "[sso-session corp]\nsso_region = eu-west-1\nsso_start_url = https://corp.awsapps.com/start\n")
    cache = tmp_path / "home" / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    name = hashlib.sha1(b"corp").hexdigest() + ".json"
    (cache / name).write_text(json.dumps({"accessToken": token, "expiresAt": iso(3600),
                                          "region": "eu-west-1"}))
    env = base_env(tmp_path, AWS_PROFILE="sso", AWS_ENDPOINT_URL_SSO=p.url)
    ok(ls(velerofs, tmp_path, url(vault), env))
    # an expired login says what to run
    (cache / name).write_text(json.dumps({"accessToken": token, "expiresAt": iso(-60)}))
    r = ls(velerofs, tmp_path, url(vault), env)
    assert r.returncode != 0 and "aws sso login --profile sso" in r.stderr
    assert token not in r.stderr


# --------------------------------------------------------------------------
# EC2 instance role through IMDSv2 (stand-in)


def test_imds_v2(velerofs, vault, tmp_path, stand_in):
    session = "imds-session-" + os.urandom(4).hex()

    def imds(method, path, headers, body):
        if method == "PUT" and path == "/latest/api/token" and \
                headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return 200, "text/plain", session.encode()
        if headers.get("X-aws-ec2-metadata-token") != session:
            return 401, "text/plain", b""
        if path == "/latest/meta-data/iam/security-credentials/":
            return 200, "text/plain", b"velero-node-role"
        if path == "/latest/meta-data/iam/security-credentials/velero-node-role":
            return 200, "application/json", json.dumps({
                "Code": "Success", "AccessKeyId": vault.access_key, "SecretAccessKey": vault.secret_key,
                "Token": "", "Expiration": iso(3600)}).encode()
        return 404, "text/plain", b""

    s = stand_in(imds)
    env = base_env(tmp_path, AWS_EC2_METADATA_SERVICE_ENDPOINT=s.url)
    del env["AWS_EC2_METADATA_DISABLED"]
    ok(ls(velerofs, tmp_path, url(vault), env))
    assert [r[0] for r in s.requests[:3]] == ["PUT", "GET", "GET"]


# --------------------------------------------------------------------------
# none at all


def test_no_credentials_said_before_the_403(velerofs, vault, tmp_path):
    r = ls(velerofs, tmp_path, url(vault), base_env(tmp_path))
    assert r.returncode != 0
    lines = r.stderr.splitlines()
    warn = [i for i, l in enumerate(lines) if "no AWS credentials" in l and "requests go unsigned" in l]
    err = [i for i, l in enumerate(lines) if "HTTP 403" in l]  # not the port
    assert warn and err and warn[0] < err[0], r.stderr


# --------------------------------------------------------------------------
# Azure AD tokens on Azurite's OAuth mode (https, `--oauth basic`)

import base64  # noqa: E402
import time  # noqa: E402

from servers import harness  # noqa: E402

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "5a2b1c3d-0000-4000-8000-00000000c11e"


class OAuthAzurite(harness.Azurite):
    """Azurite over https with --oauth basic: bearer tokens are checked for issuer, audience
    and lifetime (their signature is not)."""

    def __init__(self, certdir):
        super().__init__()
        self.cert, self.key = certdir / "cert.pem", certdir / "key.pem"
        self.url = "https://127.0.0.1:%d" % self.port

    def argv(self):
        return super().argv() + ["--oauth", "basic", "--cert", str(self.cert), "--key", str(self.key)]


def jwt(**claims) -> str:
    def b64(d):
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    now = int(time.time())
    body = {"aud": "https://storage.azure.com", "iss": "https://sts.windows.net/%s/" % TENANT,
            "iat": now - 60, "nbf": now - 60, "exp": now + 3600, "oid": "velerofs-test", **claims}
    return "%s.%s.c2lnbmF0dXJl" % (b64({"alg": "RS256", "typ": "JWT"}), b64(body))


@pytest.fixture(scope="module")
def oauth_azurite(tmp_path_factory):
    d = tmp_path_factory.mktemp("azurite-tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
                   check=True, capture_output=True)
    s = OAuthAzurite(d)
    try:
        s.start()
    except harness.ServerError as e:
        s.stop()
        pytest.fail("azurite --oauth basic could not start: %s" % e, pytrace=False)
    old = os.environ.get("SSL_CERT_FILE")
    os.environ["SSL_CERT_FILE"] = str(s.cert)  # the harness's urllib uploads trust it
    try:
        acct = harness.DEV_ACCOUNT
        s.create_container(acct, "oauth")
        for p in sorted(util.SHOP_VAULT.rglob("*")):
            if p.is_file():
                s.put_blob(acct, "oauth", str(p.relative_to(util.SHOP_VAULT)), p.read_bytes())
    finally:
        if old is None:
            del os.environ["SSL_CERT_FILE"]
        else:
            os.environ["SSL_CERT_FILE"] = old
    yield s
    s.stop()


def az_vault(s):
    return "azblob://%s/oauth?endpoint=%s&ca=%s" % (harness.DEV_ACCOUNT, s.endpoint(), s.cert)


def aad(stand_in, secret="sp-secret-value", assertion=None):
    """A stand-in Azure AD token endpoint (and IMDS) issuing tokens Azurite accepts."""
    def handler(method, path, headers, body):
        if method == "GET" and path.startswith("/metadata/identity/oauth2/token"):
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
            if headers.get("Metadata") == "true" and q.get("resource") == ["https://storage.azure.com/"]:
                return 200, "application/json", json.dumps({
                    "access_token": jwt(), "expires_in": "3599", "token_type": "Bearer"}).encode()
            return 400, "application/json", b'{"error":"invalid_request"}'
        f = urllib.parse.parse_qs(body.decode())
        good = (path == "/%s/oauth2/v2.0/token" % TENANT and f.get("client_id") == [CLIENT]
                and f.get("scope") == ["https://storage.azure.com/.default"]
                and f.get("grant_type") == ["client_credentials"]
                and (f.get("client_secret") == [secret] if assertion is None else
                     f.get("client_assertion") == [assertion] and f.get("client_assertion_type") ==
                     ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"]))
        if good:
            return 200, "application/json", json.dumps({
                "token_type": "Bearer", "expires_in": 3599, "access_token": jwt()}).encode()
        return 401, "application/json", json.dumps({
            "error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret"}).encode()
    return stand_in(handler)


def az_env(tmp_path, **extra):
    e = base_env(tmp_path, **extra)
    return e


def test_azure_service_principal_env(velerofs, oauth_azurite, tmp_path, stand_in):
    s = aad(stand_in)
    env = az_env(tmp_path, AZURE_TENANT_ID=TENANT, AZURE_CLIENT_ID=CLIENT,
                 AZURE_CLIENT_SECRET="sp-secret-value", AZURE_AUTHORITY_HOST=s.url)
    ok(ls(velerofs, tmp_path, az_vault(oauth_azurite), env))
    env["AZURE_CLIENT_SECRET"] = "wrong-secret-5678"
    r = ls(velerofs, tmp_path, az_vault(oauth_azurite), env)
    assert r.returncode != 0 and "AADSTS7000215" in r.stderr and "wrong-secret-5678" not in r.stderr


def test_azure_velero_credentials_file_service_principal(velerofs, oauth_azurite, tmp_path, stand_in):
    # Velero's Azure plugin file in its service principal form (was refused)
    s = aad(stand_in)
    f = tmp_path / "credentials-velero"
    f.write_text("AZURE_SUBSCRIPTION_ID=0000\nAZURE_TENANT_ID=%s\nAZURE_CLIENT_ID=%s\n"
                 "AZURE_CLIENT_SECRET=sp-secret-value\nAZURE_RESOURCE_GROUP=rg\n"
                 "AZURE_CLOUD_NAME=AzurePublicCloud\n" % (TENANT, CLIENT))
    env = az_env(tmp_path, AZURE_AUTHORITY_HOST=s.url)
    ok(ls(velerofs, tmp_path, az_vault(oauth_azurite), env, "--credentials", str(f)))


def test_azure_workload_identity(velerofs, oauth_azurite, tmp_path, stand_in):
    assertion = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6dmVsZXJvOnZlbGVybyJ9.c2ln"
    s = aad(stand_in, assertion=assertion)
    tok = tmp_path / "azure-identity-token"
    tok.write_text(assertion)
    env = az_env(tmp_path, AZURE_TENANT_ID=TENANT, AZURE_CLIENT_ID=CLIENT,
                 AZURE_FEDERATED_TOKEN_FILE=str(tok), AZURE_AUTHORITY_HOST=s.url)
    ok(ls(velerofs, tmp_path, az_vault(oauth_azurite), env))


def test_azure_managed_identity(velerofs, oauth_azurite, tmp_path, stand_in):
    s = aad(stand_in)
    env = az_env(tmp_path, AZURE_POD_IDENTITY_AUTHORITY_HOST=s.url)
    ok(ls(velerofs, tmp_path, az_vault(oauth_azurite), env))
    assert any(r[0] == "GET" and r[2].get("Metadata") == "true" for r in s.requests)


def test_azure_no_credentials_said(velerofs, oauth_azurite, tmp_path, stand_in):
    env = az_env(tmp_path)
    r = ls(velerofs, tmp_path, az_vault(oauth_azurite), env)
    assert r.returncode != 0
    assert "no Azure credentials" in r.stderr and "requests go unsigned" in r.stderr


def test_azure_service_principal_certificate(velerofs, oauth_azurite, tmp_path, stand_in):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    key, crt = tmp_path / "sp.key", tmp_path / "sp.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=velerofs-sp", "-keyout", str(key), "-out", str(crt)],
                   check=True, capture_output=True)
    pem = tmp_path / "sp.pem"
    pem.write_bytes(key.read_bytes() + crt.read_bytes())
    cert = x509.load_pem_x509_certificate(crt.read_bytes())
    seen = []

    def unb64(s):
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

    def handler(method, path, headers, body):
        f = urllib.parse.parse_qs(body.decode())
        a = (f.get("client_assertion") or [""])[0].split(".")
        try:
            head, claims = json.loads(unb64(a[0])), json.loads(unb64(a[1]))
            cert.public_key().verify(unb64(a[2]), (a[0] + "." + a[1]).encode(),
                                     padding.PKCS1v15(), hashes.SHA256())
            good = (head["alg"] == "RS256"
                    and unb64(head["x5t"]) == cert.fingerprint(hashes.SHA1())
                    and claims["iss"] == claims["sub"] == CLIENT
                    and claims["aud"] == s.url + "/%s/oauth2/v2.0/token" % TENANT
                    and f.get("client_assertion_type") ==
                    ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"])
        except Exception as ex:  # noqa: BLE001 - any malformed assertion is a refusal
            seen.append(repr(ex))
            good = False
        if good:
            return 200, "application/json", json.dumps({"expires_in": 3599, "access_token": jwt()}).encode()
        return 401, "application/json", b'{"error":"invalid_client","error_description":"AADSTS700027"}'

    s = stand_in(handler)
    env = az_env(tmp_path, AZURE_TENANT_ID=TENANT, AZURE_CLIENT_ID=CLIENT,
                 AZURE_CLIENT_CERTIFICATE_PATH=str(pem), AZURE_AUTHORITY_HOST=s.url)
    r = ls(velerofs, tmp_path, az_vault(oauth_azurite), env)
    assert not seen, seen
    ok(r)
    # a certificate without its key
    env["AZURE_CLIENT_CERTIFICATE_PATH"] = str(crt)
    r = ls(velerofs, tmp_path, az_vault(oauth_azurite), env)
    assert r.returncode != 0 and "needs a PEM private key" in r.stderr


# --------------------------------------------------------------------------
# web identity against MinIO's real STS: MinIO set up with an OpenID provider
# (a stand-in that only serves its discovery document and JWKS)


class OidcMinio(harness.Minio):
    def __init__(self, oidc_url):
        super().__init__(buckets=(BUCKET,))
        self.oidc_url = oidc_url

    def env(self):
        e = super().env()
        e.update(MINIO_IDENTITY_OPENID_CONFIG_URL=self.oidc_url + "/.well-known/openid-configuration",
                 MINIO_IDENTITY_OPENID_CLIENT_ID="velerofs", MINIO_IDENTITY_OPENID_CLAIM_NAME="policy")
        return e


@pytest.fixture(scope="module")
def oidc():
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub = key.public_key().public_numbers()

    def b64int(i):
        return base64.urlsafe_b64encode(i.to_bytes((i.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()

    state = {}

    def handler(method, path, headers, body):
        if path == "/.well-known/openid-configuration":
            u = state["url"]
            return 200, "application/json", json.dumps({
                "issuer": u, "jwks_uri": u + "/jwks", "authorization_endpoint": u + "/auth",
                "token_endpoint": u + "/token", "userinfo_endpoint": u + "/userinfo",
                "response_types_supported": ["id_token"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"]}).encode()
        if path == "/jwks":
            return 200, "application/json", json.dumps({"keys": [{
                "kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
                "n": b64int(pub.n), "e": b64int(pub.e)}]}).encode()
        return 404, "text/plain", b""

    s = StandIn(handler)
    state["url"] = s.url
    s.key = key
    yield s
    s.close()


def signed_jwt(oidc, **claims):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    def b64(d):
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    now = int(time.time())
    body = {"iss": oidc.url, "sub": "system:serviceaccount:velero:velero", "aud": "velerofs",
            "iat": now, "nbf": now - 60, "exp": now + 3600, "policy": "readwrite", **claims}
    msg = b64({"alg": "RS256", "typ": "JWT", "kid": "k1"}) + "." + b64(body)
    sig = oidc.key.sign(msg.encode(), padding.PKCS1v15(), hashes.SHA256())
    return msg + "." + base64.urlsafe_b64encode(sig).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def oidc_minio(oidc):
    m = OidcMinio(oidc.url)
    try:
        m.start()
    except harness.ServerError as e:
        m.stop()
        pytest.fail("minio with OpenID could not start: %s" % e, pytrace=False)
    upload_s3(m, BUCKET, "", util.SHOP_VAULT)
    yield m
    m.stop()


def test_web_identity_through_minio_sts(velerofs, oidc, oidc_minio, tmp_path):
    tok = tmp_path / "token"
    tok.write_text(signed_jwt(oidc))
    env = base_env(tmp_path, AWS_WEB_IDENTITY_TOKEN_FILE=str(tok),
                   AWS_ROLE_ARN="arn:aws:iam::123456789012:role/velero",
                   AWS_ENDPOINT_URL_STS=oidc_minio.url)
    ok(ls(velerofs, tmp_path, url(oidc_minio), env))
    # a token for another audience: MinIO's STS refuses it
    tok.write_text(signed_jwt(oidc, aud="someone-else"))
    r = ls(velerofs, tmp_path, url(oidc_minio), env)
    assert r.returncode != 0 and "AssumeRoleWithWebIdentity" in r.stderr


# --------------------------------------------------------------------------
# EKS Pod Identity / ECS task roles: the container credentials endpoint (stand-in)


def test_container_credentials_pod_identity(velerofs, vault, tmp_path, stand_in):
    auth = "pod-identity-token-" + os.urandom(4).hex()

    def agent(method, path, headers, body):
        if method == "GET" and path == "/v1/credentials" and headers.get("Authorization") == auth:
            return 200, "application/json", json.dumps({
                "AccessKeyId": vault.access_key, "SecretAccessKey": vault.secret_key,
                "Token": "", "AccountId": "123456789012", "Expiration": iso(3600)}).encode()
        return 401, "application/json", b'{"message":"invalid token"}'

    s = stand_in(agent)
    tok = tmp_path / "eks-pod-identity-token"
    tok.write_text(auth + "\n")
    env = base_env(tmp_path, AWS_CONTAINER_CREDENTIALS_FULL_URI=s.url + "/v1/credentials",
                   AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=str(tok))
    ok(ls(velerofs, tmp_path, url(vault), env))
    tok.write_text("stale")
    r = ls(velerofs, tmp_path, url(vault), env)
    assert r.returncode != 0 and "invalid token" in r.stderr and "stale" not in r.stderr


# --------------------------------------------------------------------------
# mount --bsl of an Azure BSL over https (its caCert), whose Secret is Velero's
# Azure file in the service principal form


from test_bsl import bsl, cluster, secret  # noqa: E402,F401  (cluster is a fixture)


def test_mount_bsl_azure_service_principal_ca_cert(mount, cluster, oauth_azurite, tmp_path, stand_in,  # noqa: F811
                                                   monkeypatch):
    s = aad(stand_in)
    for k in list(os.environ):
        if k.startswith(("AWS_", "AZURE_")):
            monkeypatch.delenv(k)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", s.url)
    cluster.apply(
        secret("azure-sp", "cloud",
               "AZURE_SUBSCRIPTION_ID=0000\nAZURE_TENANT_ID=%s\nAZURE_CLIENT_ID=%s\n"
               "AZURE_CLIENT_SECRET=sp-secret-value\nAZURE_RESOURCE_GROUP=rg\n"
               "AZURE_CLOUD_NAME=AzurePublicCloud\n" % (TENANT, CLIENT)),
        bsl("azure", "oauth", None,
            {"storageAccount": harness.DEV_ACCOUNT, "resourceGroup": "rg", "subscriptionId": "0000",
             "storageAccountURI": oauth_azurite.endpoint(), "useAAD": "true"},
            credential={"name": "azure-sp", "key": "cloud"}, ca=oauth_azurite.cert.read_bytes(),
            name="azure-sp"))
    m = mount("--bsl=azure-sp", args=("--kubeconfig", str(cluster.kubeconfig), "-o", "no_restore"))
    assert "shop-only" in os.listdir(m / "backups")
    assert "name: shop-only" in (m / "backups" / "shop-only" / "backup.yaml").read_text()
    assert any(b"client_secret=sp-secret-value" in r[3] for r in s.requests)
