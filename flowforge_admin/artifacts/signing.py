"""The HMAC an artifact's bytes carry: a worker loads a file only if it still matches.

The signature is HMAC-SHA256, with a key derived from ``SECRET_KEY`` (as
Django's ``salted_hmac`` derives its keys), of the artifact's size and the
SHA-256 digests of its 4 MiB chunks. Hashing chunk by chunk lets a small
thread pool hash them while the caller writes or reads the file (hashlib
releases the GIL), so signing a 100 MB array costs little more than its
I/O instead of doubling it; the HMAC over the digests commits to every byte
as one over the bytes would. The signature is kept in the Artifact row, away
from the file: changing a file without the key makes it fail the check. Keys
of ``SECRET_KEY_FALLBACKS`` verify too, so artifacts survive a key rotation.
"""

import hashlib
import hmac
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings

KEY_SALT = "flowforge_admin.artifacts.signing"
CHUNK_BYTES = 4 << 20
VERSION = b"flowforge-artifact-1"

_pools = {}  # process id -> ThreadPoolExecutor (a forked worker process starts its own)
_pools_lock = threading.Lock()


def _pool():
    pid = os.getpid()
    with _pools_lock:
        if pid not in _pools:
            _pools.clear()
            _pools[pid] = ThreadPoolExecutor(
                max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="flowforge-signing"
            )
        return _pools[pid]


def _sha256(chunk):
    return hashlib.sha256(chunk).digest()


class Digest:
    """The SHA-256 digests of a stream's 4 MiB chunks, computed on a thread pool as the stream goes by."""

    def __init__(self):
        self.size = 0
        self._digests = []  # futures, in stream order
        self._partial = bytearray()

    def update(self, data, *, stable=False):
        """Add ``data`` (bytes-like) to the stream.

        ``stable``: the caller will not change ``data``'s memory (bytes, a
        read-only view): its chunks are hashed in place, without a copy.
        """
        view = memoryview(data).cast("B")
        self.size += view.nbytes
        if self._partial:
            taken = min(CHUNK_BYTES - len(self._partial), view.nbytes)
            self._partial += view[:taken]
            view = view[taken:]
            if len(self._partial) == CHUNK_BYTES:
                self._submit(bytes(self._partial))
                self._partial = bytearray()
        while view.nbytes >= CHUNK_BYTES:
            chunk = view[:CHUNK_BYTES]
            self._submit(chunk if stable else bytes(chunk))
            view = view[CHUNK_BYTES:]
        if view.nbytes:
            self._partial += view

    def _submit(self, chunk):
        self._digests.append(_pool().submit(_sha256, chunk))

    def finish(self):
        """Return the message the HMAC signs: the size and every chunk's digest (waits for them)."""
        if self._partial:
            self._submit(bytes(self._partial))
            self._partial = bytearray()
        return VERSION + self.size.to_bytes(8, "big") + b"".join(future.result() for future in self._digests)


def _key(secret):
    return hashlib.sha256((KEY_SALT + secret).encode()).digest()


def sign(message):
    """Return the signature (hex) of a Digest's ``finish()`` under the current key."""
    return hmac.new(_key(settings.SECRET_KEY), message, hashlib.sha256).hexdigest()


def matches(message, signature):
    """Whether ``signature`` signs ``message`` under the current key or a fallback one."""
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return any(
        hmac.compare_digest(hmac.new(_key(secret), message, hashlib.sha256).hexdigest(), signature)
        for secret in secrets
    )


def signature_of(data):
    """Return the signature of the bytes ``data`` (all at once) under the current key."""
    digest = Digest()
    digest.update(data)
    return sign(digest.finish())
