"""Task outputs that are not JSON: written to Django's storage API, signed, previewed by the worker.

- ``storage``: where artifacts live (the ``"flowforge"`` storage, or a directory).
- ``signing``: the HMAC that a file must still match before a worker loads it.
- ``serializers``: how a value becomes bytes (.npy, Parquet, pickle), chosen by type.
- ``previews``: what the admin shows of a value, made when it is stored.
- ``files``: storing and loading (used by the engine's workers only).
- ``receivers``: a deleted Artifact row takes its file with it.
"""
