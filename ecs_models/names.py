"""Model references, parsed and displayed exactly by Ollama's naming rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ecs_models.errors import InvalidNameError

DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"

# Ollama's part grammar (types/model/name.go): every part starts with a letter, digit or "_".
# Only the host may hold ":" (a port); the namespace may not hold "." either. Because no part
# may start with "." or hold "/" or NUL, no valid name can ever climb out of manifests/.
_HOST_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}")
_NAMESPACE_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,79}")
_MODEL_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}")
_TAG_RE = _MODEL_RE
# Ollama takes any word before "://" and drops it; we keep http and https as transport hints.
SCHEME_MAX = 80
_TRANSPORTS = ("http", "https")

_PART_RULES = (
    ("host", _HOST_RE, 350, "letters, digits, '_', '-', '.' and ':'"),
    ("namespace", _NAMESPACE_RE, 80, "letters, digits, '_' and '-'"),
    ("model", _MODEL_RE, 80, "letters, digits, '_', '-' and '.'"),
    ("tag", _TAG_RE, 80, "letters, digits, '_', '-' and '.'"),
)


@dataclass(frozen=True, slots=True)
class ModelName:
    """A fully qualified model reference: host/namespace/model:tag."""

    host: str
    namespace: str
    model: str
    tag: str
    # "http" or "https" when the user wrote one before the host: a transport hint, not identity.
    # Any other scheme word is accepted, as Ollama accepts it, and ignored.
    scheme: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"

    @property
    def display(self) -> str:
        """Ollama's short form: host and namespace dropped where they are the defaults."""
        if self.host.lower() == DEFAULT_HOST:
            if self.namespace.lower() == DEFAULT_NAMESPACE:
                return f"{self.model}:{self.tag}"
            return f"{self.namespace}/{self.model}:{self.tag}"
        return str(self)

    @property
    def repository(self) -> str:
        """The registry repository path: namespace/model."""
        return f"{self.namespace}/{self.model}"

    @property
    def path_parts(self) -> tuple[str, str, str, str]:
        """Directory parts under manifests/: host, namespace, model, tag."""
        return (self.host, self.namespace, self.model, self.tag)

    @property
    def match_key(self) -> tuple[str, str, str, str]:
        """Key for Ollama's case-insensitive lookup of installed models."""
        return (self.host.lower(), self.namespace.lower(), self.model.lower(), self.tag.lower())

    def matches(self, other: ModelName) -> bool:
        return self.match_key == other.match_key

    def with_tag(self, tag: str) -> ModelName:
        _check_part("tag", tag)
        return ModelName(self.host, self.namespace, self.model, tag, self.scheme)


def _check_part(kind: str, value: str) -> None:
    for name, pattern, limit, allowed in _PART_RULES:
        if name != kind:
            continue
        if not value:
            raise InvalidNameError(f"The {kind} part of the model name is empty.")
        if len(value) > limit:
            raise InvalidNameError(
                f"The {kind} part of the model name is {len(value)} characters long; "
                f"the limit is {limit}."
            )
        if not pattern.fullmatch(value):
            raise InvalidNameError(
                f"The {kind} {value[:60]!r} is not valid: it must start with a letter, digit or '_' "
                f"and hold only {allowed}."
            )
        return
    raise AssertionError(f"unknown part kind {kind}")


def parse_model_name(text: str, *, default_host: str = DEFAULT_HOST) -> ModelName:
    """Parse `[scheme://host/]namespace/model[:tag]` as Ollama does, filling its defaults.

    Ollama's `:local` and `:cloud` suffixes are handled first (split_source_suffix), then the
    name is cut from the right as types/model/name.go cuts it: the tag after the last ':' that
    follows the last '/', then the model, the namespace and the host. A scheme (any word) is
    only allowed before a host and never part of the name's identity.

    Raises InvalidNameError with one sentence naming the offending part.
    """
    if not isinstance(text, str):
        raise InvalidNameError("A model name must be text.")
    raw = text.strip()
    if not raw:
        raise InvalidNameError("Enter a model name, such as llama3.2 or qwen3:8b.")
    if "\x00" in raw or any(ch.isspace() for ch in raw):
        raise InvalidNameError(f"The model name {raw[:60]!r} holds spaces or control characters.")
    if "@" in raw:
        raise InvalidNameError(
            "Names pinned by digest (name@sha256:...) are not accepted; use a tag."
        )
    if "\\" in raw:
        raise InvalidNameError(f"The model name {raw[:60]!r} holds a backslash.")
    raw = split_source_suffix(raw)

    tag = DEFAULT_TAG
    # ":" after the last "/" separates the tag; a ":" before it belongs to the host's port.
    if raw.rfind(":") > raw.rfind("/"):
        raw, tag = raw.rsplit(":", 1)
        if not tag:
            raise InvalidNameError("The tag after ':' is empty.")

    host, namespace, scheme = default_host, DEFAULT_NAMESPACE, None
    rest, _, model = raw.rpartition("/")
    typed_host = "/" in rest
    if typed_host:
        rest, _, namespace = rest.rpartition("/")
        # Ollama cuts the scheme at the first "://"; the host is what follows.
        scheme, separator, host = rest.partition("://")
        if not separator:
            host, scheme = rest, None
    elif "/" in raw:
        namespace = rest
    if scheme is None and "://" in raw:
        raise InvalidNameError(
            f"The model name {text.strip()[:80]!r} has a scheme but no host; a scheme only "
            "goes before a host, as in https://host/namespace/model."
        )
    if typed_host and "/" in host:
        raise InvalidNameError(
            f"The model name {text.strip()[:80]!r} has too many '/' parts; "
            "the most is host/namespace/model."
        )
    if "" in (host, namespace, model):
        raise InvalidNameError(f"The model name {text.strip()[:80]!r} has an empty part.")

    _check_part("host", host)
    _check_part("namespace", namespace)
    _check_part("model", model)
    _check_part("tag", tag)
    return ModelName(host, namespace, model, tag, scheme=_transport(scheme))


def _transport(scheme: str | None) -> str | None:
    """http or https when the scheme word says so; any other word is accepted and dropped."""
    if scheme is None:
        return None
    if len(scheme) > SCHEME_MAX:
        raise InvalidNameError(
            f"The scheme of the model name is {len(scheme)} characters long; "
            f"the limit is {SCHEME_MAX}."
        )
    lowered = scheme.lower()
    return lowered if lowered in _TRANSPORTS else None


def split_source_suffix(text: str) -> str:
    """The name without Ollama's `:local` / `:cloud` source suffix (internal/modelref).

    `:local` only says "the installed copy", so it goes: `llama3:local` is `llama3:latest` and
    `llama3:8b:local` is `llama3:8b`. `:cloud` names the cloud variant, which a models
    directory holds under Ollama's legacy tags: `gpt-oss:20b:cloud` is `gpt-oss:20b-cloud`,
    `qwen3:cloud` stays `qwen3:cloud`. Both suffixes at once are refused, as Ollama refuses them.
    """
    base, source = source_suffix(text)
    if source is None:
        return text
    if source_suffix(base)[1] is not None:
        raise InvalidNameError(
            f"The model name {text[:80]!r} ends in more than one of :local and :cloud; "
            "use either :local or :cloud, not both."
        )
    if source == "local":
        return base
    has_tag = base.rfind(":") > base.rfind("/")
    return base + ("-cloud" if has_tag else ":cloud")


def source_suffix(text: str) -> tuple[str, str | None]:
    """Ollama's modelref.parseSourceSuffix: (base, "local" | "cloud" | None)."""
    index = text.rfind(":")
    if index < 0:
        return text, None
    suffix = text[index + 1 :]
    lowered = suffix.lower()
    if lowered in ("local", "cloud"):
        return text[:index], lowered
    # The legacy spelling `model:tag-cloud` is a cloud name too.
    if "/" not in suffix and lowered.endswith("-cloud"):
        return text[: index + 1] + suffix[: -len("-cloud")], "cloud"
    return text, None


def is_valid_model_name(text: str) -> bool:
    try:
        parse_model_name(text)
    except InvalidNameError:
        return False
    return True
