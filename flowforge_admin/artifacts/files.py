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
import sys
import tempfile
from dataclasses import dataclass

from django.core.files import File
from django.core.files.storage import FileSystemStorage

from ..exceptions import ArtifactError
from . import previews, serializers, signing
from .storage import get_storage

logger = logging.getLogger("flowforge_admin.artifacts")

READ_BYTES = 16 << 20  # a file is read (and hashed) in slices of this size


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
    return path, writer.digest.size, signing.sign(writer.digest.finish())


class _SigningWriter:
    """A binary stream that writes to a file and hashes what goes through it (signing.Digest)."""

    def __init__(self, file):
        self.file = file
        self.digest = signing.Digest()
        self.closed = False

    def write(self, data):
        self.digest.update(data)
        return self.file.write(data)

    def tell(self):
        return self.digest.size

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
    data, message = _read(path, where)
    if not signing.matches(message, signature):
        raise ArtifactError(
            f"{where} does not match its signature: the file was changed after it was stored, "
            "so it was not loaded"
        )
    try:
        return serializer.load(data)
    except Exception as error:
        raise ArtifactError(f"{where} cannot be read: {type(error).__name__}: {error}") from error


def _read(path, where):
    """Return the file's bytes (a writable buffer) and its signing.Digest message, hashed as it is read."""
    storage = get_storage()
    digest = signing.Digest()
    try:
        size = storage.size(path)
        data = _buffer(size)
        view = memoryview(data).cast("B")
        with storage.open(path, "rb") as file:
            done = 0
            while done < size:
                chunk = view[done : min(size, done + READ_BYTES)]
                count = _read_into(file, chunk)
                if not count:
                    break
                digest.update(chunk[:count])
                done += count
            if done != size or file.read(1):
                raise ArtifactError(f"{where} changed size while it was read")
    except FileNotFoundError:
        raise ArtifactError(f"{where} is missing from the artifact store") from None
    except OSError as error:
        raise ArtifactError(f"{where} cannot be read from the artifact store: {error}") from error
    return data, digest.finish()


def _buffer(size):
    """Return a writable buffer of ``size`` bytes to read a file into.

    NumPy's, when NumPy is there: it is not filled with zeros first (a
    bytearray is), which costs a fifth of reading a large file.
    """
    numpy = sys.modules.get("numpy")
    return numpy.empty(size, dtype=numpy.uint8) if numpy is not None else bytearray(size)


def _read_into(file, chunk):
    """Fill ``chunk`` (a memoryview) from ``file`` as far as it goes; return the bytes read."""
    reader = getattr(file, "readinto", None)
    if reader is not None:
        return reader(chunk) or 0
    part = file.read(chunk.nbytes)
    chunk[: len(part)] = part
    return len(part)


def remove(paths):
    """Delete the files at ``paths`` from the store; a file already gone is fine, other errors are logged."""
    storage = get_storage()
    for path in paths:
        try:
            storage.delete(path)
        except Exception:
            logger.exception("could not delete artifact %s", path)
