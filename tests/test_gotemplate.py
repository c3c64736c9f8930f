"""Reading Ollama templates as Go's text/template does, and printing values as Go prints them."""

from __future__ import annotations

import pytest

from ecs_models.show.capabilities import model_capabilities
from ecs_models.show.gostyle import go_float, go_quote, go_value, rfc3339_nano
from ecs_models.show.gotemplate import TemplateError, parse_template

QWEN_LIKE = """{{- if .Messages }}
{{- if or .System .Tools }}<|im_start|>system
{{- if .System }}
{{ .System }}
{{- end }}
{{- if .Tools }}
<tools>
{{- range .Tools }}
{"type": "function", "function": {{ .Function }}}
{{- end }}
</tools>
{{- end }}<|im_end|>
{{ end }}
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 -}}
{{- if eq .Role "user" }}<|im_start|>user
{{ .Content }}<|im_end|>
{{ else if eq .Role "assistant" }}<|im_start|>assistant
{{ if .Thinking -}}
<think>
{{ .Thinking }}
</think>
{{ end -}}
{{ .Content }}{{ if not $last }}<|im_end|>
{{ end }}
{{- end }}
{{- end }}
{{- else }}
{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}{{ if .Prompt }}<|im_start|>user
{{ .Prompt }}<|im_end|>
{{ end }}<|im_start|>assistant
{{ end }}{{ .Response }}{{ if .Response }}<|im_end|>{{ end }}"""


@pytest.mark.parametrize(
    ("template", "wanted", "unwanted"),
    [
        ("{{ .Prompt }}", {"prompt"}, {"tools", "suffix"}),
        (QWEN_LIKE, {"tools", "messages", "thinking", "system", "$last"}, {"suffix"}),
        ("{{ range .Messages }}{{ if $.Tools }}x{{ end }}{{ end }}", {"tools", "$"}, set()),
        ("{{ if .Suffix }}{{ .Prompt }}<fim>{{ .Suffix }}{{ end }}", {"suffix"}, {"tools"}),
        # Comments and quoted text are not fields.
        ('{{/* .Tools */}}{{ ".Tools }}" }}{{ `.Suffix` }}{{ .Prompt }}', {"prompt"}, {"tools"}),
        ('{{ define "x" }}{{ .Tools }}{{ end }}{{ template "x" . }}', {"tools"}, set()),
        ("{{ 1.5 }}{{ .5 }}{{ (index .Messages 0).Tools }}", {"messages"}, {"tools"}),
    ],
)
def test_vars_are_the_fields_go_sees(template: str, wanted: set[str], unwanted: set[str]) -> None:
    names = parse_template(template).vars()
    assert wanted <= names
    assert not unwanted & names


@pytest.mark.parametrize(
    ("template", "tags"),
    [
        (QWEN_LIKE, ("<think>", "</think>")),
        (
            "{{ range .Messages }}{{ if .Thinking }}<seed:think>{{ .Thinking }}"
            "</seed:think>{{ end }}{{ end }}",
            ("<seed:think>", "</seed:think>"),
        ),
        # Outside a range over .Messages, or over another list, there is nothing to infer.
        ("{{ if .Thinking }}<think>{{ .Thinking }}</think>{{ end }}", ("", "")),
        ("{{ range .Tools }}<think>{{ .Thinking }}</think>{{ end }}", ("", "")),
        # $m.Thinking is a variable, not the field Ollama looks for.
        ("{{ range $m := .Messages }}<think>{{ $m.Thinking }}</think>{{ end }}", ("", "")),
        ("{{ range .Messages }}{{ .Thinking }}{{ end }}", ("", "")),
    ],
)
def test_thinking_tags_as_ollama_infers_them(template: str, tags: tuple[str, str]) -> None:
    assert parse_template(template).thinking_tags() == tags


@pytest.mark.parametrize(
    "template",
    ["{{ if .X }}open", "{{ end }}", "{{ .X ", "{{ (.X }}", '{{ "open }}', "{{ else }}"],
)
def test_templates_go_rejects_are_rejected(template: str) -> None:
    with pytest.raises(TemplateError):
        parse_template(template)


def test_a_broken_template_loses_only_its_own_capabilities() -> None:
    metadata = {"general.architecture": "llama"}
    caps = model_capabilities(
        metadata=metadata, template="{{ if .Tools }}", projector_count=0, config={}
    )
    assert caps == ["completion"]
    gpt_oss = model_capabilities(
        metadata=metadata, template="x", projector_count=0, config={"model_family": "gptoss"}
    )
    assert gpt_oss == ["completion", "thinking"]
    remote = model_capabilities(
        metadata=None, template="{{ .Prompt }}", projector_count=0, config={"capabilities": []}
    )
    assert remote == []
    image = model_capabilities(
        metadata=None, template=QWEN_LIKE, projector_count=1, config={"capabilities": ["image"]}
    )
    assert image == ["image"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (40, "40"),
        (0.95, "0.95"),
        (1.0, "1"),
        (1e6, "1e+06"),
        (123456.0, "123456"),
        (1e-05, "1e-05"),
        (0.0001, "0.0001"),
        (268098176.0, "2.68098176e+08"),
        (-2.5, "-2.5"),
        (float("inf"), "+Inf"),
    ],
)
def test_floats_print_as_go_prints_float64(value: float, text: str) -> None:
    assert go_float(value) == text


def test_strings_quote_as_strconv_quote() -> None:
    assert go_quote('say "hi"\n\tnow\\') == '"say \\"hi\\"\\n\\tnow\\\\"'
    assert go_quote("é<|im_end|>") == '"é<|im_end|>"'
    assert go_quote("\x00\u200b\U0001f600") == '"\\x00\\u200b😀"'
    assert go_value(True) == "true" and go_value(7) == "7"


def test_times_are_rfc3339_nano_in_utc() -> None:
    assert rfc3339_nano(1_700_000_000_123_456_789) == "2023-11-14T22:13:20.123456789Z"
    assert rfc3339_nano(1_700_000_000_120_000_000) == "2023-11-14T22:13:20.12Z"
    assert rfc3339_nano(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"
