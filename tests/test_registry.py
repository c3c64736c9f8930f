"""Registry client: schemes, token and basic auth, redirects to another host, catalog and tags."""

from __future__ import annotations

import base64
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.faults import CuttingProxy
from support.model_builder import MIB, PushedModel, push_small_model
from support.registry_server import RegistryServer

from ecs_models.errors import AuthenticationError, ModelNotFoundError, RegistryError
from ecs_models.names import parse_model_name
from ecs_models.registry.client import (
    RegistryClient,
    is_loopback_host,
    parse_challenge,
    registry_base_url,
)
from ecs_models.registry.credentials import Credential, CredentialStore
from ecs_models.store.model_store import ModelStore
from ecs_models.transfer.pull import PullOptions, pull_model


class AuthFront:
    """A real HTTP server in front of the registry that behaves like registry.ollama.ai or Harbor.

    It demands a Bearer token (issued by its /token realm), answers manifests itself and
    redirects blob GETs with 307 to another host (`localhost` through a recording proxy), the way
    the official registry sends clients to a CDN.
    """

    def __init__(
        self, registry: RegistryServer, blob_proxy: CuttingProxy, *, realm_host: str | None = None
    ) -> None:
        self.token_requests: list[dict[str, str]] = []
        self.manifest_auth: list[str | None] = []
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def reply(
                self, status: int, body: bytes = b"", headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                if self.path.startswith("/token"):
                    front.token_requests.append({k.lower(): v for k, v in self.headers.items()})
                    self.reply(200, b'{"token":"tok-123"}', {"Content-Type": "application/json"})
                    return
                if self.headers.get("Authorization") != "Bearer tok-123":
                    realm = f"http://{realm_host or front.host}/token"
                    challenge = f'Bearer realm="{realm}",service="front",scope="repository:x:pull"'
                    self.reply(401, b"{}", {"WWW-Authenticate": challenge})
                    return
                if "/manifests/" in self.path:
                    front.manifest_auth.append(self.headers.get("Authorization"))
                    upstream = httpx.get(
                        registry.url + self.path, headers={"Accept": self.headers.get("Accept", "")}
                    )
                    # registry.ollama.ai answers text/plain: the client must not care.
                    self.reply(
                        upstream.status_code, upstream.content, {"Content-Type": "text/plain"}
                    )
                    return
                self.reply(307, b"", {"Location": f"http://localhost:{blob_proxy.port}{self.path}"})

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def pushed(registry: RegistryServer) -> PushedModel:
    return push_small_model(registry, "library/authfront", "latest", gguf_size=3 * MIB, seed=61)


@pytest.fixture
def front(registry: RegistryServer, proxy: CuttingProxy) -> Iterator[AuthFront]:
    server = AuthFront(registry, proxy)
    yield server
    server.close()


def secret_store(host: str) -> CredentialStore:
    return CredentialStore({host: Credential("alice", "s3cret")})


def test_token_flow_and_redirect_to_another_host_without_credentials(
    front: AuthFront, proxy: CuttingProxy, pushed: PushedModel, models_dir: Path
) -> None:
    store = ModelStore(models_dir)
    name = f"{front.host}/{pushed.repository}"
    with RegistryClient(credentials=secret_store(front.host)) as client:
        model = pull_model(name, store, registry=client, options=PullOptions(part_size_min=1 * MIB))

    assert model.manifest.raw == pushed.manifest_bytes
    assert front.manifest_auth == ["Bearer tok-123"]
    # The realm is on the registry's own host, so the credentials went there.
    expected = "Basic " + base64.b64encode(b"alice:s3cret").decode()
    assert front.token_requests[0].get("authorization") == expected
    # The redirect target (a "CDN" on another host) never saw a token or a password.
    blob_requests = [r for r in proxy.requests if "/blobs/" in r.target]
    assert blob_requests, "blobs must have come through the redirect"
    assert all("authorization" not in r.headers for r in blob_requests)
    assert all(r.range is not None for r in blob_requests)


def test_credentials_never_go_to_a_realm_on_another_host(
    registry: RegistryServer, proxy: CuttingProxy, pushed: PushedModel, models_dir: Path
) -> None:
    token_server = AuthFront(registry, proxy)
    front = AuthFront(
        registry, proxy, realm_host=f"localhost:{token_server.server.server_address[1]}"
    )
    try:
        with RegistryClient(credentials=secret_store(front.host)) as client:
            raw = client.get_manifest(parse_model_name(f"{front.host}/{pushed.repository}"))
        assert raw == pushed.manifest_bytes
        assert token_server.token_requests and "authorization" not in token_server.token_requests[0]
    finally:
        front.close()
        token_server.close()


def test_basic_auth_challenge_without_credentials_is_one_clear_sentence() -> None:
    client = RegistryClient(credentials=CredentialStore())
    with pytest.raises(AuthenticationError, match="asks for a user name and password"):
        client.authorize(parse_model_name("example.com/a/b"), 'Basic realm="x"')


def test_catalog_tags_and_missing_model(registry: RegistryServer, pushed: PushedModel) -> None:
    push_small_model(registry, "library/authfront", "other", gguf_size=1 * MIB, seed=62)
    with RegistryClient() as client:
        name = parse_model_name(f"{registry.host}/{pushed.repository}")
        assert "library/authfront" in client.catalog(name)
        assert {"latest", "other"} <= set(client.tags(name))
        assert client.manifest_digest(name) == pushed.manifest_digest
        with pytest.raises(ModelNotFoundError, match="was not found"):
            client.get_manifest(name.with_tag("nope"))


def test_schemes_follow_docker_rules() -> None:
    assert (
        is_loopback_host("127.0.0.1:5000")
        and is_loopback_host("localhost")
        and is_loopback_host("[::1]:80")
    )
    assert is_loopback_host("127.9.9.9") and not is_loopback_host("registry.ollama.ai")
    assert (
        registry_base_url(parse_model_name("llama3"), insecure=False)
        == "https://registry.ollama.ai"
    )
    assert (
        registry_base_url(parse_model_name("localhost:5000/a/b"), insecure=False)
        == "http://localhost:5000"
    )
    assert (
        registry_base_url(parse_model_name("myhost:5000/a/b"), insecure=True)
        == "http://myhost:5000"
    )
    with pytest.raises(RegistryError, match="--insecure"):
        registry_base_url(parse_model_name("http://myhost/a/b"), insecure=False)


def test_parse_challenge_handles_quotes_and_commas() -> None:
    scheme, params = parse_challenge(
        'Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull,push"'
    )
    assert scheme == "bearer"
    assert params == {
        "realm": "https://auth.example/token",
        "service": "reg",
        "scope": "repository:a/b:pull,push",
    }


def test_unreachable_registry_is_a_clear_error(models_dir: Path) -> None:
    client = RegistryClient(retries=1, retry_base_delay=0.01)
    with pytest.raises(
        RegistryError, match=r"^Can't connect to 127\.0\.0\.1:9 — is the registry running\?$"
    ):
        pull_model("127.0.0.1:9/library/x", ModelStore(models_dir), registry=client)
