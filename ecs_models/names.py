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
    # "http" or "https" when the user wrote a scheme; it is a transport hint, not identity.
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
    """Parse `[scheme://][host/][namespace/]model[:tag]`, filling Ollama's defaults.

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

    scheme: str | None = None
    if "://" in raw:
        scheme, raw = raw.split("://", 1)
        scheme = scheme.lower()
        if scheme not in ("http", "https"):
            raise InvalidNameError(
                f"The scheme {scheme[:20]!r} is not supported; use http or https."
            )

    tag = DEFAULT_TAG
    # ":" after the last "/" separates the tag; a ":" before it belongs to the host's port.
    if raw.rfind(":") > raw.rfind("/"):
        raw, tag = raw.rsplit(":", 1)
        if not tag:
            raise InvalidNameError("The tag after ':' is empty.")

    parts = raw.split("/")
    if len(parts) > 3:
        raise InvalidNameError(
            f"The model name {text.strip()[:80]!r} has too many '/' parts; "
            "the most is host/namespace/model."
        )
    if any(part == "" for part in parts):
        raise InvalidNameError(f"The model name {text.strip()[:80]!r} has an empty part.")
    host, namespace = default_host, DEFAULT_NAMESPACE
    if len(parts) == 3:
        host, namespace, model = parts
    elif len(parts) == 2:
        namespace, model = parts
    else:
        (model,) = parts

    _check_part("host", host)
    _check_part("namespace", namespace)
    _check_part("model", model)
    _check_part("tag", tag)
    return ModelName(host=host, namespace=namespace, model=model, tag=tag, scheme=scheme)


def is_valid_model_name(text: str) -> bool:
    try:
        parse_model_name(text)
    except InvalidNameError:
        return False
    return True
