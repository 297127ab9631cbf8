import pytest

from schemas.plan import Shot
from storage.assets import LocalAssetStore, StorageError, code_version, content_key


def test_content_key_is_stable_and_sensitive():
    a = Shot(id="sc01-sh01", duration=2.0)
    assert content_key("shot", a) == content_key("shot", Shot(id="sc01-sh01", duration=2.0))
    assert content_key("shot", a) != content_key("shot", a.model_copy(update={"duration": 2.5}))
    assert content_key({"b": 1, "a": 2}) == content_key({"a": 2, "b": 1})


def test_store_write_is_atomic(tmp_path):
    store = LocalAssetStore(tmp_path / "assets")
    key = content_key("x")
    assert not store.exists("k", key, ".bin")
    with pytest.raises(RuntimeError):
        with store.writing("k", key, ".bin") as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError
    assert not store.exists("k", key, ".bin")
    with store.writing("k", key, ".bin") as tmp:
        tmp.write_bytes(b"all")
    assert store.path("k", key, ".bin").read_bytes() == b"all"


def test_unwritable_store_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError, match="cannot create the asset store"):
        LocalAssetStore(blocker / "assets")


def test_code_version_changes_with_source():
    assert len(code_version("tasks.planning")) == 16
    assert code_version("tasks.planning") != code_version("tasks.media")
