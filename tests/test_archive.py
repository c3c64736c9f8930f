"""Export/import round trips, tampering, zstd only when it pays, and create from a local GGUF."""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest
from lifecycle_support import blob_names, manifest_files, pull
from support.faults import SmallFilesystemFactory, flip_byte
from support.model_builder import (
    MIB,
    PushedModel,
    cached_gguf,
    gguf_layer,
    push_model,
    push_small_model,
    text_layer,
)
from support.registry_server import RegistryServer

from ecs_models.cli import main
from ecs_models.errors import DigestMismatchError, EcsModelsError
from ecs_models.gguf.reader import read_gguf_info
from ecs_models.storage.archive import REF_NAME, ZSTD_MAGIC, export_model, import_archive
from ecs_models.storage.create import create_from_gguf
from ecs_models.storage.health import check_health
from ecs_models.storage.report import storage_report
from ecs_models.store.model_store import ModelStore


@pytest.fixture(scope="module")
def pushed(registry: RegistryServer) -> PushedModel:
    return push_small_model(registry, "library/archive-a", "q4", gguf_size=3 * MIB, seed=61)


@pytest.fixture
def source(tmp_path: Path, pushed: PushedModel) -> ModelStore:
    store = ModelStore(tmp_path / "source")
    pull(store, pushed.name)
    return store


def assert_nothing_installed(store: ModelStore) -> None:
    assert list(store.blobs_dir.iterdir()) == []
    assert list(store.manifests_dir.iterdir()) == []
    assert not list(store.state_dir.glob("import-*"))


def test_export_then_import_into_an_empty_store_is_identical(
    source: ModelStore, pushed: PushedModel, tmp_path: Path
) -> None:
    archive = tmp_path / "model.tar"
    result = export_model(source, pushed.name, archive)
    target = ModelStore(tmp_path / "target")

    imported = import_archive(target, archive)

    original = source.resolve(pushed.name)
    assert imported.model.name == original.name and imported.model.id == original.id
    assert imported.model.manifest_path.read_bytes() == original.manifest_path.read_bytes()
    rel = [p.relative_to(source.root) for p in manifest_files(source.root)]
    assert [p.relative_to(target.root) for p in manifest_files(target.root)] == rel
    assert blob_names(target) == blob_names(source)
    assert check_health(target).ok
    assert [m.to_api_dict()["digest"] for m in target.list_models()] == [
        original.digest.removeprefix("sha256:")
    ]
    assert not result.compressed and result.written_bytes == archive.stat().st_size
    assert sorted(imported.blobs_written) == sorted({b.digest for b in pushed.blobs})


def test_archive_is_an_oci_image_layout(
    source: ModelStore, pushed: PushedModel, tmp_path: Path
) -> None:
    archive = tmp_path / "model.tar"
    export_model(source, pushed.name, archive)
    model = source.resolve(pushed.name)

    with tarfile.open(archive) as tar:
        names = tar.getnames()
        layout = json.loads(tar.extractfile("oci-layout").read())  # type: ignore[union-attr]
        index = json.loads(tar.extractfile("index.json").read())  # type: ignore[union-attr]
        manifest_hex = model.digest.removeprefix("sha256:")
        raw = tar.extractfile(f"blobs/sha256/{manifest_hex}").read()  # type: ignore[union-attr]

    assert layout == {"imageLayoutVersion": "1.0.0"}
    (entry,) = index["manifests"]
    assert entry["digest"] == model.digest and entry["size"] == len(model.manifest.raw)
    assert entry["annotations"][REF_NAME] == str(model.name)
    assert raw == model.manifest.raw
    expected = {f"blobs/sha256/{b.hex}" for b in pushed.blobs} | {f"blobs/sha256/{manifest_hex}"}
    assert set(names) == {"oci-layout", "index.json"} | expected


def test_tampered_archive_is_refused_and_nothing_is_written(
    source: ModelStore, pushed: PushedModel, tmp_path: Path
) -> None:
    archive = tmp_path / "model.tar"
    export_model(source, pushed.name, archive)
    gguf_hex = pushed.layer("model").hex
    with tarfile.open(archive) as tar:
        member = tar.getmember(f"blobs/sha256/{gguf_hex}")
    flip_byte(archive, member.offset_data + member.size // 2)
    target = ModelStore(tmp_path / "target")

    with pytest.raises(DigestMismatchError, match="damaged"):
        import_archive(target, archive)

    assert_nothing_installed(target)


def test_truncated_or_foreign_files_are_refused_in_one_sentence(
    source: ModelStore, pushed: PushedModel, tmp_path: Path
) -> None:
    archive = tmp_path / "model.tar"
    export_model(source, pushed.name, archive)
    short = tmp_path / "short.tar"
    with open(archive, "rb") as whole, open(short, "wb") as part:
        part.write(whole.read(archive.stat().st_size // 2))
    text = tmp_path / "notes.txt"
    text.write_text("not an archive\n")
    target = ModelStore(tmp_path / "target")

    for bad in (short, text, tmp_path / "missing.tar"):
        with pytest.raises(EcsModelsError) as refused:
            import_archive(target, bad)
        assert str(refused.value).count("\n") == 0
    assert_nothing_installed(target)


def test_import_reuses_blobs_already_in_the_store(
    source: ModelStore, pushed: PushedModel, tmp_path: Path
) -> None:
    archive = tmp_path / "model.tar"
    export_model(source, pushed.name, archive)
    target = ModelStore(tmp_path / "target")
    gguf = pushed.layer("model")
    shutil.copyfile(source.blob_path(gguf.digest), target.blob_path(gguf.digest))
    inode = target.blob_path(gguf.digest).stat().st_ino

    result = import_archive(target, archive, name="renamed:v1")

    assert gguf.digest in result.blobs_reused and gguf.digest not in result.blobs_written
    assert target.blob_path(gguf.digest).stat().st_ino == inode
    assert result.model.display == "renamed:v1" and check_health(target).ok


def test_zstd_is_used_only_when_it_saves_five_percent(
    registry: RegistryServer,
    source: ModelStore,
    pushed: PushedModel,
    tmp_path: Path,
    unique_repo: str,
) -> None:
    # High-entropy weights do not compress: the archive stays a plain tar and says why.
    noise = tmp_path / "noise.bin"
    noise.write_bytes(os.urandom(3 * MIB))
    dense = push_model(registry, unique_repo, "dense", [gguf_layer(noise)])
    pull(source, dense.name)
    plain = tmp_path / "weights.tar.zst"
    result = export_model(source, dense.name, plain, compress="zstd")
    assert not result.compressed and result.estimated_saving is not None
    assert result.estimated_saving < 0.05 and "uncompressed" in result.note
    assert plain.read_bytes()[:4] != ZSTD_MAGIC
    assert result.written_bytes == result.tar_bytes == plain.stat().st_size

    # A model with a large text layer compresses well.
    text = "".join(f"line {i}: the quick brown fox jumps over the lazy dog\n" for i in range(60000))
    layers = [gguf_layer(cached_gguf(1 * MIB, 62)), text_layer("license", text)]
    wordy = push_model(registry, unique_repo, "latest", layers)
    pull(source, wordy.name)
    packed = tmp_path / "wordy.tar.zst"
    result = export_model(source, wordy.name, packed, compress="zstd")
    assert result.compressed and result.saving is not None and result.saving >= 0.05
    assert packed.read_bytes()[:4] == ZSTD_MAGIC
    assert result.written_bytes < result.tar_bytes * 0.95

    target = ModelStore(tmp_path / "target")
    imported = import_archive(target, packed)
    assert imported.compressed and imported.model.id == wordy.id and check_health(target).ok


def test_create_from_gguf_with_link_shares_the_inode(tmp_path: Path) -> None:
    gguf = tmp_path / "downloads" / "tiny.gguf"
    gguf.parent.mkdir()
    shutil.copyfile(cached_gguf(2 * MIB, 63), gguf)
    store = ModelStore(tmp_path / "models")

    model = create_from_gguf(
        store,
        "tiny:q4",
        gguf,
        template="{{ .Prompt }}",
        system="Be brief.",
        params={"temperature": 0.2},
        link=True,
    )

    blob = store.blob_path(model.manifest.layers[0].digest)
    assert blob.stat().st_ino == gguf.stat().st_ino and gguf.stat().st_nlink == 2
    assert [layer.kind for layer in model.manifest.layers] == [
        "model",
        "template",
        "system",
        "params",
    ]
    config = store.read_config(model)
    info = read_gguf_info(gguf)
    assert config["model_family"] == info.architecture == model.details.family
    assert config["file_type"] == info.quantization == "Q4_K_M"
    assert config["rootfs"]["diff_ids"] == [layer.digest for layer in model.manifest.layers]
    assert check_health(store).ok
    (entry,) = storage_report(store).models
    assert entry.linked == gguf.stat().st_size and entry.freed_if_removed < 1024


def test_create_without_link_copies_and_cross_device_link_is_refused(
    tmp_path: Path, small_fs: SmallFilesystemFactory
) -> None:
    elsewhere = small_fs(8 * MIB) / "tiny.gguf"
    shutil.copyfile(cached_gguf(2 * MIB, 63), elsewhere)
    store = ModelStore(tmp_path / "models")

    with pytest.raises(EcsModelsError, match="same filesystem"):
        create_from_gguf(store, "tiny", elsewhere, link=True)
    assert list(store.manifests_dir.iterdir()) == []

    model = create_from_gguf(store, "tiny", elsewhere)
    blob = store.blob_path(model.manifest.layers[0].digest)
    assert (
        blob.stat().st_ino != elsewhere.stat().st_ino
        and blob.read_bytes() == elsewhere.read_bytes()
    )

    not_gguf = tmp_path / "fake.gguf"
    not_gguf.write_bytes(os.urandom(4096))
    with pytest.raises(EcsModelsError, match="not a usable GGUF"):
        create_from_gguf(store, "fake", not_gguf)


def test_cli_export_import_create(
    source: ModelStore, pushed: PushedModel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "cli.tar"
    name = pushed.name
    assert (
        main(
            ["export", "--models", str(source.root), name, "-o", str(archive), "--compress", "zstd"]
        )
        == 0
    )
    assert "zstd" in capsys.readouterr().out
    target = tmp_path / "target"
    assert main(["import", "--models", str(target), str(archive), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["digest"] == "sha256:" + pushed.manifest_digest[7:]
    template = tmp_path / "template.txt"
    template.write_text("{{ .Prompt }}")
    gguf = cached_gguf(1 * MIB, 64)
    args = ["create", "--models", str(target), "made", "--from-gguf", str(gguf)]
    assert main([*args, "--template", str(template), "--params", '{"num_ctx": 4096}']) == 0
    assert "created made:latest" in capsys.readouterr().out
    assert main([*args, "--params", "[1]"]) == 1
    assert "JSON object" in capsys.readouterr().err
