"""Storing and loading artifacts: formats chosen by type, the signature checked before anything is read."""

import json
import pickle

import numpy as np
import pytest
from django.conf import settings
from django.core.files.storage import InMemoryStorage
from django.test import override_settings
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from flowforge_admin.artifacts import files, serializers, signing
from flowforge_admin.artifacts.storage import get_storage
from flowforge_admin.exceptions import ArtifactError

from .. import data_tasks as d
from ..conftest import require_service

pd = d.pd


def store(value):
    return files.store(value, run_id=1, task_run_id=2, attempt=3)


def load(stored):
    return files.load(stored.path, stored.serializer, stored.signature, label="the output of task 't'")


@pytest.mark.parametrize(
    "array",
    [
        np.arange(24, dtype=np.int16).reshape(2, 3, 4),
        np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4)),
        np.array([1 + 2j, np.nan]),
        np.zeros((0, 5)),
        np.array(["ab", "c"]),
        np.array([(1, 2.5)], dtype=[("a", "i4"), ("b", "f8")]),
    ],
    ids=["int16-3d", "fortran", "complex-nan", "empty", "text", "structured"],
)
def test_arrays_round_trip_as_npy(array):
    stored = store(array)
    assert stored.serializer == "npy"
    assert stored.path.startswith("runs/1/2-3-")
    assert stored.path.endswith(".npy")
    loaded = load(stored)
    assert loaded.dtype == array.dtype
    assert loaded.shape == array.shape
    np.testing.assert_array_equal(loaded, array)
    loaded.flat[:1] = loaded.flat[:1]  # writable, as an array a task made itself


def test_an_array_of_python_objects_is_pickled_not_written_as_npy():
    stored = store(np.array([{"a": 1}, None], dtype=object))
    assert stored.serializer == "pickle"
    assert list(load(stored)) == [{"a": 1}, None]


def test_a_large_array_inside_an_object_is_pickled_with_it():
    """Pickle hands a large array's memory to the stream as it is (not as bytes): it is signed all the same."""
    value = {"weights": np.arange(300_000, dtype=np.float64), "name": "big"}
    stored = store(value)
    assert stored.serializer == "pickle"
    loaded = load(stored)
    np.testing.assert_array_equal(loaded["weights"], value["weights"])


def test_data_frames_go_to_parquet_unless_their_columns_are_not_text():
    require_service("pandas", pd is not None, "install pandas and pyarrow (requirements-dev.txt)")
    frame = d.frame()
    stored = store(frame)
    assert stored.serializer == "parquet"
    assert load(stored).equals(frame)
    numbered = pd.DataFrame({0: [1, 2], 1: ["a", "b"]})
    stored = store(numbered)
    assert stored.serializer == "pickle"
    assert load(stored).equals(numbered)


def test_the_signature_is_an_hmac_of_the_bytes_with_a_key_from_the_secret_key():
    """The same bytes signed again give the same signature; another key another one."""
    stored = store(d.model())
    with get_storage().open(stored.path, "rb") as file:
        data = file.read()
    assert len(data) == stored.size
    assert signing.signature_of(data) == stored.signature
    with override_settings(SECRET_KEY="another-key"):
        assert signing.signature_of(data) != stored.signature
        with pytest.raises(ArtifactError, match="does not match its signature"):
            load(stored)
    # A rotated key stays accepted while it is listed in SECRET_KEY_FALLBACKS.
    with override_settings(SECRET_KEY="another-key", SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]):
        assert load(stored) == d.model()


def test_a_changed_pickle_is_refused_before_it_is_unpickled(tmp_path):
    stored = store(d.model())
    planted = tmp_path / "planted"
    with get_storage().open(stored.path, "wb") as file:
        file.write(pickle.dumps(d.Tripwire(str(planted))))
    with pytest.raises(ArtifactError) as error:
        load(stored)
    assert str(error.value) == (
        f"the output of task 't' (artifact {stored.path}) does not match its signature: "
        "the file was changed after it was stored, so it was not loaded"
    )
    assert not planted.exists()


def test_a_truncated_or_missing_file_is_an_error_naming_the_artifact():
    stored = store(np.arange(10))
    storage = get_storage()
    with storage.open(stored.path, "wb") as file:
        file.write(b"\x93NUMPY")
    with pytest.raises(ArtifactError, match="does not match its signature"):
        load(stored)
    storage.delete(stored.path)
    with pytest.raises(
        ArtifactError, match=r"\(artifact runs/1/2-3-\w+\.npy\) is missing from the artifact store"
    ):
        load(stored)


def test_a_serializer_that_is_not_configured_any_more_is_an_error():
    stored = store(np.arange(3))
    with (
        override_settings(
            FLOWFORGE_ARTIFACT_SERIALIZERS=["flowforge_admin.artifacts.serializers.PickleSerializer"]
        ),
        pytest.raises(ArtifactError, match="written by serializer 'npy', which is not configured"),
    ):
        load(stored)


class JSONLinesSerializer(serializers.Serializer):
    """A project's own format: sets of numbers as sorted JSON."""

    name = "numberset"
    extension = "json"

    def accepts(self, value):
        return isinstance(value, (set, frozenset)) and all(isinstance(item, int) for item in value)

    def dump(self, value, stream):
        stream.write(json.dumps(sorted(value)).encode())

    def load(self, data):
        return set(json.loads(bytes(data)))


class BrokenSerializer(serializers.Serializer):
    name = "broken"

    def accepts(self, value):
        return True

    def dump(self, value, stream):
        stream.write(b"half")
        raise ValueError("cannot write this")


def test_serializers_are_pluggable_and_tried_in_order():
    setting = [
        f"{__name__}.BrokenSerializer",
        f"{__name__}.JSONLinesSerializer",
        "flowforge_admin.artifacts.serializers.PickleSerializer",
    ]
    with override_settings(FLOWFORGE_ARTIFACT_SERIALIZERS=setting):
        stored = store({3, 1, 2})
        assert stored.serializer == "numberset"
        assert stored.path.endswith(".json")
        assert load(stored) == {1, 2, 3}
        assert store({"a"}).serializer == "pickle"  # the project's format does not accept it
    only_broken = override_settings(FLOWFORGE_ARTIFACT_SERIALIZERS=[f"{__name__}.BrokenSerializer"])
    with (
        only_broken,
        pytest.raises(ArtifactError, match=r"cannot be stored: broken: ValueError: cannot write this"),
    ):
        store(1j)


def test_the_flowforge_storage_of_the_project_is_used_when_defined():
    storages = {**settings.STORAGES, "flowforge": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    with override_settings(STORAGES=storages):
        storage = get_storage()
        assert isinstance(storage, InMemoryStorage)
        stored = store(np.arange(5))
        assert storage.exists(stored.path)
        np.testing.assert_array_equal(load(stored), np.arange(5))


def test_removing_files_already_gone_is_fine():
    stored = store(d.model())
    files.remove([stored.path, stored.path])
    assert not get_storage().exists(stored.path)


@hypothesis_settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=200_000), max_size=6), st.data())
def test_the_signature_does_not_depend_on_how_the_bytes_were_split(parts, data):
    """Written in any pieces, or all at once, the bytes get the one signature; any change changes it."""
    whole = b"".join(parts)
    digest = signing.Digest()
    for part in parts:
        digest.update(memoryview(part) if data.draw(st.booleans()) else part)
    assert signing.sign(digest.finish()) == signing.signature_of(whole)
    if whole:
        changed = bytearray(whole)
        changed[data.draw(st.integers(0, len(whole) - 1))] ^= 1
        assert signing.signature_of(bytes(changed)) != signing.signature_of(whole)
    assert signing.signature_of(whole + b"\0") != signing.signature_of(whole)
