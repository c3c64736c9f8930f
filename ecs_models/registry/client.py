"""OCI distribution (Docker registry v2) client over httpx: manifests, auth, catalog, tags."""

from __future__ import annotations

import base64
import ipaddress
import random
import threading
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

import httpx

from ecs_models.errors import (
    AuthenticationError,
    ManifestError,
    ModelNotFoundError,
    OperationCancelledError,
    RegistryError,
)
from ecs_models.explain import (
    ConnectionProblem,
    connection_problem,
    connection_reason,
    connection_sentence,
)
from ecs_models.manifest import MANIFEST_ACCEPT, Manifest, normalize_digest, sha256_digest
from ecs_models.names import ModelName
from ecs_models.registry.bounded_body import (
    KIB,
    MIB,
    BodyEncodedError,
    BodyTooLargeError,
    BodyTooSlowError,
    human_limit,
    read_bounded,
)
from ecs_models.registry.credentials import CredentialStore
from ecs_models.registry.manifest_policy import MANIFEST_LIMIT, check_pulled_manifest
from ecs_models.registry.tls import lazy_tls_client
from ecs_models.retry import REFUSED_RETRY_DELAY_S, RetryListener, RetryNotice, retry_budget

USER_AGENT = "ecs-models/0.1 (+ollama-compatible)"
_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
# Any other answer we read whole: a token, a catalog or tags page (1,000 names is ~50 KiB).
RESPONSE_LIMIT = 1 * MIB
# An error answer is read only for its message.
ERROR_BODY_LIMIT = 64 * KIB
MAX_REDIRECTS = 5


def is_loopback_host(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1, with or without a port."""
    bare = host.lower()
    if bare.startswith("["):
        bare = bare[1:].split("]", 1)[0]
    elif bare.count(":") == 1:
        bare = bare.split(":", 1)[0]
    if bare == "localhost" or bare.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False


def registry_base_url(name: ModelName, *, insecure: bool) -> str:
    """Scheme and host for a name: plain http for loopback (as Docker does) or with --insecure."""
    if name.scheme == "http" and not (insecure or is_loopback_host(name.host)):
        raise RegistryError(
            f"Refusing plain http to {name.host}; pass --insecure to allow an unencrypted registry."
        )
    scheme = name.scheme or ("http" if insecure or is_loopback_host(name.host) else "https")
    return f"{scheme}://{name.host}"


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """Split `Bearer realm="...",service="...",scope="..."` into scheme and parameters."""
    scheme, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    i = 0
    while i < len(rest):
        eq = rest.find("=", i)
        if eq < 0:
            break
        key = rest[i:eq].strip().strip(",").strip()
        if eq + 1 < len(rest) and rest[eq + 1] == '"':
            end = rest.find('"', eq + 2)
            end = len(rest) if end < 0 else end
            params[key.lower()] = rest[eq + 2 : end]
            i = end + 1
        else:
            end = rest.find(",", eq + 1)
            end = len(rest) if end < 0 else end
            params[key.lower()] = rest[eq + 1 : end].strip()
            i = end
        while i < len(rest) and rest[i] in ", ":
            i += 1
    return scheme.lower(), params


def backoff_delay(attempt: int, *, base: float, cap: float) -> float:
    """Exponential back-off with full jitter: spreads retries of many clients apart."""
    return float(random.uniform(0.5, 1.0) * min(cap, base * (2 ** max(0, attempt - 1))))


class RegistryClient:
    """One client per session: it caches tokens per host and repository."""

    def __init__(
        self,
        *,
        insecure: bool = False,
        credentials: CredentialStore | None = None,
        timeout: float = 30.0,
        retries: int = 5,
        retry_base_delay: float = 0.5,
        retry_max_delay: float = 8.0,
        body_timeout: float = 60.0,
    ) -> None:
        self.insecure = insecure
        self.timeout = timeout
        # The whole body of a small answer must arrive within this, however slowly it drips
        # (`timeout` only bounds the wait for each piece).
        self.body_timeout = body_timeout
        self.retries = retries
        self.retry_base_delay = retry_base_delay
        self.retry_max_delay = retry_max_delay
        self._credentials = (
            credentials if credentials is not None else CredentialStore.from_environment()
        )
        self._http = lazy_tls_client(
            verify=not insecure,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=False,
            # Bodies are read raw and counted (bounded_body): a compressed one could expand
            # without bound before it is, so none is asked for and one sent anyway is refused.
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
        )
        self._auth: dict[tuple[str, str], str] = {}
        self._auth_lock = threading.Lock()

    def sibling(
        self,
        *,
        insecure: bool | None = None,
        timeout: float | None = None,
        retries: int | None = None,
    ) -> RegistryClient:
        """A client of its own with the same credential store (looked up per host, so sharing it
        sends nothing anywhere new): for a mirror, or a quick question that must not wait out
        this client's timeouts and retries."""
        return RegistryClient(
            insecure=self.insecure if insecure is None else insecure,
            credentials=self._credentials,
            timeout=self.timeout if timeout is None else timeout,
            retries=self.retries if retries is None else retries,
            retry_base_delay=self.retry_base_delay,
            retry_max_delay=self.retry_max_delay,
            body_timeout=self.body_timeout,
        )

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- URLs and auth -----------------------------------------------------------------------
    def base_url(self, name: ModelName) -> str:
        return registry_base_url(name, insecure=self.insecure)

    def blob_url(self, name: ModelName, digest: str) -> str:
        return f"{self.base_url(name)}/v2/{name.repository}/blobs/{digest}"

    def auth_headers(self, name: ModelName) -> dict[str, str]:
        """Authorization for requests to this name's own registry host, never to another."""
        with self._auth_lock:
            value = self._auth.get((name.host.lower(), name.repository))
        return {"Authorization": value} if value else {}

    def authorize(self, name: ModelName, challenge: str, *, action: str = "pull") -> dict[str, str]:
        """Answer a 401's WWW-Authenticate challenge; returns the headers to retry with."""
        scheme, params = parse_challenge(challenge)
        credential = self._credentials.lookup(name.host)
        if scheme == "basic":
            if credential is None:
                raise AuthenticationError(
                    f"{name.host} asks for a user name and password; set "
                    f"ECS_MODELS_REGISTRY_AUTH='{name.host}=USER:PASSWORD' (or add them to "
                    "~/.config/ecs_models/credentials.json)."
                )
            pair = f"{credential.username}:{credential.password}".encode()
            header = "Basic " + base64.b64encode(pair).decode()
        elif scheme == "bearer":
            header = "Bearer " + self._fetch_token(name, params, action)
        else:
            raise AuthenticationError(
                f"{name.host} asks for unsupported authentication {scheme!r}."
            )
        with self._auth_lock:
            self._auth[(name.host.lower(), name.repository)] = header
        return {"Authorization": header}

    def _fetch_token(self, name: ModelName, params: Mapping[str, str], action: str) -> str:
        realm = params.get("realm")
        if not realm:
            raise AuthenticationError(f"{name.host} sent a token challenge without a realm.")
        try:
            realm_url = httpx.URL(realm)
        except httpx.InvalidURL:
            realm_url = httpx.URL()
        if realm_url.scheme not in ("http", "https") or not realm_url.host:
            raise AuthenticationError(
                f"{name.host} sent a token challenge whose realm {realm[:80]!r} is not an "
                "http(s) URL."
            )
        query: dict[str, str | list[str]] = {}
        if "service" in params:
            query["service"] = params["service"]
        # A challenge may name several scopes separated by spaces (a cross-repository mount
        # needs push on one repository and pull on another): token services want one each.
        scopes = (params.get("scope") or "").split()
        query["scope"] = scopes or [f"repository:{name.repository}:{action}"]
        auth: httpx.BasicAuth | None = None
        credential = self._credentials.lookup(name.host)
        # Credentials go only to a realm on the registry's own host: a challenge naming another
        # host could be an attempt to collect them; nor over plain http from an https registry.
        downgrade = realm_url.scheme == "http" and self.base_url(name).startswith("https:")
        if (
            credential is not None
            and realm_url.host.lower() == _bare_host(name.host)
            and not downgrade
        ):
            auth = httpx.BasicAuth(credential.username, credential.password)
        try:
            request = self._http.build_request("GET", realm_url, params=query)
            response = self._read(
                name, self._http.send(request, auth=auth, stream=True), "token", RESPONSE_LIMIT
            )
        except httpx.HTTPError as exc:
            raise AuthenticationError(
                f"Could not reach the token service {realm_url.host}: {_reason(exc)}."
            ) from exc
        if response.status_code != 200:
            raise AuthenticationError(
                f"The token service of {name.host} refused access to {name.repository} "
                f"(HTTP {response.status_code})."
            )
        try:
            doc = response.json()
        except ValueError as exc:
            raise AuthenticationError(f"The token service of {name.host} sent no JSON.") from exc
        token = doc.get("token") or doc.get("access_token") if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token:
            raise AuthenticationError(f"The token service of {name.host} sent no token.")
        return token

    # -- requests ------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        name: ModelName,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        follow_redirects: bool = True,
        action: str = "pull",
        content: bytes | None = None,
        limit: int = RESPONSE_LIMIT,
        what: str = "answer",
        on_retry: RetryListener | None = None,
        cancel: threading.Event | None = None,
    ) -> httpx.Response:
        """A small metadata request to the name's registry, with auth, redirects and retries.

        `path` is relative to /v2/, or an absolute URL the registry handed out (an upload
        Location). `action` is the token scope asked for on a 401 ("pull,push" to upload).
        A successful answer's body over `limit` bytes, or slower than `body_timeout`, is
        refused with a RegistryError naming `what` it was. `on_retry` hears each retry before
        its wait; setting `cancel` ends a wait at once (OperationCancelledError).
        """
        if path.startswith(("http://", "https://")):
            url = path
        else:
            url = f"{self.base_url(name)}/v2/{path}"
        attempt = 0
        authorized = False
        while True:
            attempt += 1
            try:
                response = self._send(
                    method, name, url, headers or {}, params, follow_redirects, content, limit, what
                )
            except httpx.TransportError as exc:
                # Refused and unknown hosts do not come back within a back-off schedule.
                problem = connection_problem(exc)
                budget = retry_budget(problem, self.retries)
                if attempt > budget:
                    raise RegistryError(
                        connection_sentence(problem, name.host)
                        if problem is not None
                        else f"Could not reach {name.host}: {_describe(exc)}.",
                        retryable=True,
                    ) from exc
                delay = (
                    REFUSED_RETRY_DELAY_S
                    if problem is ConnectionProblem.REFUSED
                    else backoff_delay(attempt, base=self.retry_base_delay, cap=self.retry_max_delay)
                )
                why = connection_reason(problem) if problem is not None else _describe(exc)
                self._wait_retry(RetryNotice(attempt, budget, delay, why), on_retry, cancel)
                continue
            if response.status_code == 401 and not authorized:
                authorized = True
                self.authorize(name, response.headers.get("WWW-Authenticate", ""), action=action)
                attempt -= 1
                continue
            if response.status_code in _RETRYABLE_STATUS and attempt <= self.retries:
                delay = backoff_delay(attempt, base=self.retry_base_delay, cap=self.retry_max_delay)
                notice = RetryNotice(attempt, self.retries, delay, f"HTTP {response.status_code}")
                self._wait_retry(notice, on_retry, cancel)
                continue
            return response

    @staticmethod
    def _wait_retry(
        notice: RetryNotice, on_retry: RetryListener | None, cancel: threading.Event | None
    ) -> None:
        if on_retry is not None:
            on_retry(notice)
        if cancel is None:
            time.sleep(notice.delay_s)
        elif cancel.wait(notice.delay_s):
            raise OperationCancelledError("Cancelled while waiting to retry.")

    def _send(
        self,
        method: str,
        name: ModelName,
        url: str,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None,
        follow_redirects: bool,
        content: bytes | None,
        limit: int,
        what: str,
    ) -> httpx.Response:
        registry_host = _bare_host(name.host)
        secure = self.base_url(name).startswith("https:")
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                target = httpx.URL(url)
            except httpx.InvalidURL:
                raise RegistryError(f"{name.host} redirected to an invalid URL.") from None
            send_headers = dict(headers)
            # Never a token or password to another host, nor in clear text after a redirect
            # from https to http.
            if target.host.lower() == registry_host and (target.scheme == "https" or not secure):
                send_headers.update(self.auth_headers(name))
            request = self._http.build_request(
                method, target, headers=send_headers, params=params, content=content
            )
            response = self._http.send(request, stream=True)
            location = response.headers.get("Location")
            if not (follow_redirects and response.is_redirect and location):
                return self._read(name, response, what, limit)
            response.close()
            url = urllib.parse.urljoin(str(target), location)
            if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
                raise RegistryError(f"{name.host} redirected to {url[:80]!r}; refusing it.")
            params = None
        raise RegistryError(
            f"{name.host} redirected more than {MAX_REDIRECTS} times; refusing to follow it "
            "further."
        )

    def _read(
        self, name: ModelName, response: httpx.Response, what: str, limit: int
    ) -> httpx.Response:
        """The streamed response with its body read within the limits (see bounded_body)."""
        failed = not response.is_success
        try:
            return read_bounded(
                response,
                limit=ERROR_BODY_LIMIT if failed else limit,
                deadline_s=self.body_timeout,
                truncate=failed,
            )
        except BodyTooLargeError:
            raise RegistryError(
                f"The registry {name.host} sent a {what} larger than {human_limit(limit)}; "
                "refusing it."
            ) from None
        except BodyTooSlowError:
            raise RegistryError(
                f"The registry {name.host} took more than {self.body_timeout:g} s to send a "
                f"{what}; refusing it."
            ) from None
        except BodyEncodedError as exc:
            raise RegistryError(
                f"The registry {name.host} sent a {what} compressed with {exc.encoding[:20]!r} "
                "although we asked for none; refusing it."
            ) from None

    def get_manifest(
        self,
        name: ModelName,
        *,
        on_retry: RetryListener | None = None,
        cancel: threading.Event | None = None,
    ) -> bytes:
        """The manifest's bytes exactly as the registry sent them, checked by fetch_manifest."""
        return self.fetch_manifest(name, on_retry=on_retry, cancel=cancel).raw

    def fetch_manifest(
        self,
        name: ModelName,
        *,
        reference: str | None = None,
        on_retry: RetryListener | None = None,
        cancel: threading.Event | None = None,
    ) -> Manifest:
        """The manifest of a name (or of `reference`, a digest, in its repository), refused
        unless it is a model safe to pull.

        Never more than MANIFEST_LIMIT bytes are read; the bytes must hash to the digest the
        registry announces, and manifest_policy's checks must pass. `on_retry` and `cancel` as
        in `request`.
        """
        response = self.request(
            "GET",
            name,
            f"{name.repository}/manifests/{reference or name.tag}",
            headers={"Accept": MANIFEST_ACCEPT},
            limit=MANIFEST_LIMIT,
            what="manifest",
            on_retry=on_retry,
            cancel=cancel,
        )
        if response.status_code == 404:
            raise ModelNotFoundError(f"Model {name.display} was not found on {name.host}.")
        if response.status_code in (401, 403):
            raise AuthenticationError(
                f"{name.host} refused access to {name.display} (HTTP {response.status_code})."
            )
        if response.status_code != 200:
            raise RegistryError(
                f"{name.host} answered HTTP {response.status_code} for the manifest of {name.display}.",
                status=response.status_code,
            )
        raw = response.content
        announced = response.headers.get("Docker-Content-Digest", "").strip()
        if announced.lower().startswith("sha256:"):
            try:
                matches = normalize_digest(announced) == sha256_digest(raw)
            except ManifestError:
                matches = False
            if not matches:
                raise RegistryError(
                    f"The registry {name.host} sent a manifest for {name.display} whose sha256 "
                    "is not the Docker-Content-Digest it announced; refusing it."
                )
        manifest = Manifest.parse(raw)
        check_pulled_manifest(manifest, name.host)
        return manifest

    def manifest_digest(self, name: ModelName) -> str | None:
        """The current manifest digest via HEAD (cheap), or None when the registry omits it."""
        response = self.request(
            "HEAD",
            name,
            f"{name.repository}/manifests/{name.tag}",
            headers={"Accept": MANIFEST_ACCEPT},
            what="manifest",
        )
        if response.status_code == 404:
            raise ModelNotFoundError(f"Model {name.display} was not found on {name.host}.")
        digest = response.headers.get("Docker-Content-Digest")
        return str(digest) if digest else None

    def blob_size(self, name: ModelName, digest: str) -> int | None:
        response = self.request("HEAD", name, f"{name.repository}/blobs/{digest}")
        if response.status_code != 200:
            return None
        length = response.headers.get("Content-Length")
        return int(length) if length and length.isdigit() else None

    def catalog(self, name: ModelName, *, limit: int = 1000) -> list[str]:
        """Repositories of the name's registry via `/v2/_catalog`, following Link pagination."""
        return self._paginated(name, "_catalog", "repositories", limit)

    def tags(self, name: ModelName, *, limit: int = 1000) -> list[str]:
        return self._paginated(name, f"{name.repository}/tags/list", "tags", limit)

    def _paginated(self, name: ModelName, path: str, key: str, limit: int) -> list[str]:
        items: list[str] = []
        params: dict[str, str] | None = {"n": str(min(limit, 1000))}
        seen: set[str] = set()
        while True:
            response = self.request("GET", name, path, params=params)
            if response.status_code in (404, 405):
                raise RegistryError(
                    f"{name.host} does not list {key}.", status=response.status_code
                )
            if response.status_code != 200:
                raise RegistryError(
                    f"{name.host} answered HTTP {response.status_code} when listing {key}.",
                    status=response.status_code,
                )
            try:
                doc: Any = response.json()
            except (ValueError, RecursionError):
                doc = None
            page = doc.get(key) if isinstance(doc, dict) else None
            found = [x for x in page if isinstance(x, str)] if isinstance(page, list) else []
            new = list(dict.fromkeys(x for x in found if x not in seen))
            items.extend(new)
            seen.update(new)
            link = response.headers.get("Link", "")
            # Links could go on forever (back to a page already read, or to empty pages): only
            # a page that added names is followed.
            if len(items) >= limit or not new or 'rel="next"' not in link:
                return items[:limit]
            try:
                next_url = httpx.URL(link.split(";", 1)[0].strip().strip("<>"))
            except httpx.InvalidURL:
                return items[:limit]
            path = next_url.path.removeprefix("/v2/")
            params = dict(next_url.params)


def _bare_host(host: str) -> str:
    """The host without port, lowercased, as httpx.URL.host gives it."""
    return httpx.URL(f"http://{host}/").host.lower()


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or exc.__class__.__name__


def _reason(exc: BaseException) -> str:
    """A connection failure's plain reason, else the exception's own words."""
    problem = connection_problem(exc)
    return connection_reason(problem) if problem is not None else _describe(exc)
