"""Storing a value as an artifact and loading it back: used by the engine's workers only.

Storing writes the serializer's bytes once, to a temporary file beside the
store (so that a file-system store only renames it), signing them on the
way. Loading reads the bytes, checks their signature, and only then lets the
serializer (maybe pickle) see them: a file changed in the store is refused
before anything in it is interpreted.
"""

import logging
import os
import secrets
import tempfile
from dataclasses import dataclass

from django.core.files import File
from django.core.files.storage import FileSystemStorage

from ..exceptions import ArtifactError
from . import previews, serializers, signing
from .storage import get_storage

logger = logging.getLogger("flowforge_admin.artifacts")


@dataclass(frozen=True)
class StoredValue:
    """A value written to the store: what its Artifact row records."""

    path: str
    serializer: str
    type_name: str
    size: int
    signature: str
    preview: dict


def store(value, *, run_id, task_run_id, attempt):
    """Write ``value`` to the artifact store; return its StoredValue. Raises ArtifactError."""
    storage = get_storage()
    problems = []
    for serializer in serializers.configured():
        if not serializer.accepts(value):
            continue
        try:
            path, size, signature = _write(storage, serializer, value, run_id, task_run_id, attempt)
        except ArtifactError:
            raise
        except Exception as error:  # this format cannot write it: the next one may
            problems.append(f"{serializer.name}: {type(error).__name__}: {error}")
            continue
        return StoredValue(
            path=path,
            serializer=serializer.name,
            type_name=previews.type_name(value),
            size=size,
            signature=signature,
            preview=previews.preview(value),
        )
    tried = "; ".join(problems) or "no serializer of FLOWFORGE_ARTIFACT_SERIALIZERS accepts it"
    raise ArtifactError(f"the task's output ({previews.type_name(value)}) cannot be stored: {tried}")


def _write(storage, serializer, value, run_id, task_run_id, attempt):
    name = f"runs/{run_id}/{task_run_id}-{attempt}-{secrets.token_hex(4)}.{serializer.extension}"
    directory = None
    if isinstance(storage, FileSystemStorage):
        # Beside the store: saving it is then a rename, not a second copy of the bytes.
        directory = storage.location
        os.makedirs(directory, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".writing-")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            writer = _SigningWriter(handle)
            serializer.dump(value, writer)
        try:
            with open(temporary, "rb") as written:
                path = storage.save(name, _TemporaryFile(written, temporary))
        except OSError as error:
            raise ArtifactError(
                f"the task's output cannot be written to the artifact store: {error}"
            ) from error
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path, writer.size, writer.signature.hexdigest()


class _SigningWriter:
    """A binary stream that signs and counts what goes through it to a file."""

    def __init__(self, file):
        self.file = file
        self.signature = signing.signer()
        self.size = 0
        self.closed = False

    def write(self, data):
        self.signature.update(data)
        self.size += memoryview(data).nbytes
        return self.file.write(data)

    def tell(self):
        return self.size

    def flush(self):
        self.file.flush()

    def writable(self):
        return True

    def seekable(self):
        return False

    def readable(self):
        return False


class _TemporaryFile(File):
    """A written file FileSystemStorage may move into place (as it does for uploads)."""

    def __init__(self, file, path):
        super().__init__(file, name=path)
        self._path = path

    def temporary_file_path(self):
        return self._path


def load(path, serializer_name, signature, *, label):
    """Return the value stored at ``path`` after checking its signature; raise ArtifactError otherwise.

    ``label`` names the artifact in messages ("the output of task fetch").
    """
    where = f"{label} (artifact {path})"
    serializer = serializers.by_name(serializer_name)
    if serializer is None:
        raise ArtifactError(f"{where} was written by serializer {serializer_name!r}, which is not configured")
    data = _read(path, where)
    if not signing.matches(data, signature):
        raise ArtifactError(
            f"{where} does not match its signature: the file was changed after it was stored, "
            "so it was not loaded"
        )
    try:
        return serializer.load(data)
    except Exception as error:
        raise ArtifactError(f"{where} cannot be read: {type(error).__name__}: {error}") from error


def _read(path, where):
    storage = get_storage()
    try:
        size = storage.size(path)
        with storage.open(path, "rb") as file:
            data = bytearray(size)
            view = memoryview(data)
            done = 0
            reader = getattr(file, "readinto", None)
            while done < size:
                if reader is not None:
                    count = reader(view[done:])
                else:
                    chunk = file.read(size - done)
                    count = len(chunk)
                    view[done : done + count] = chunk
                if not count:
                    break
                done += count
            if done != size or file.read(1):
                raise ArtifactError(f"{where} changed size while it was read")
    except FileNotFoundError:
        raise ArtifactError(f"{where} is missing from the artifact store") from None
    except OSError as error:
        raise ArtifactError(f"{where} cannot be read from the artifact store: {error}") from error
    return data


def remove(paths):
    """Delete the files at ``paths`` from the store; a file already gone is fine, other errors are logged."""
    storage = get_storage()
    for path in paths:
        try:
            storage.delete(path)
        except Exception:
            logger.exception("could not delete artifact %s", path)
